package s3blocks

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
)

// getAttempts bounds how often Get follows a block that moved: a
// compaction that moves it again meanwhile is as rare as two compactions
// during one read.
const getAttempts = 3

// Get implements store.BlockStore: an index lookup, then a ranged GET of
// the entry, whose checksums it verifies. When the object is gone or the
// entry fails its checks, Get looks the key up again: if compaction moved
// it meanwhile it reads it from there (docs/gc.md §7.1), and otherwise the
// copy is damaged: Get drops the key from the index, so that it stops
// counting as stored and its next Put stores it again (§7.2), and returns
// ErrCorrupt.
func (s *Store) Get(ctx context.Context, key ebs.Digest, dst []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return dst, fmt.Errorf("s3blocks: get: %w", store.ErrClosed)
	}
	for range getAttempts {
		loc, err := s.index.Lookup(ctx, key)
		if err != nil {
			return dst, fmt.Errorf("s3blocks: get %v: %w", key, err)
		}
		out, err := s.readEntry(ctx, key, loc, dst)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, errNoObject) && !errors.Is(err, pack.ErrCorrupt) {
			return dst, err
		}
		cur, lerr := s.index.Lookup(ctx, key)
		if errors.Is(lerr, store.ErrNotFound) || lerr == nil && cur != loc {
			continue // moved, or swept: look again
		}
		if lerr != nil {
			return dst, fmt.Errorf("s3blocks: get %v: %w", key, lerr)
		}
		if derr := s.index.Drop(ctx, key, loc, err.Error()); derr != nil {
			s.log.Error("s3blocks: cannot drop a damaged copy from the index", "key", key.String(), "err", derr)
		} else {
			s.log.Error("s3blocks: a stored block is missing or failed its checksum; it no longer counts as stored, and its next Put stores it again",
				"key", key.String(), "object", s.groupName(loc.Group), "offset", loc.Off, "err", err)
		}
		return dst, fmt.Errorf("s3blocks: get %v: %w: %w", key, store.ErrCorrupt, err)
	}
	return dst, fmt.Errorf("s3blocks: get %v: the block moved %d times while being read", key, getAttempts)
}

// readEntry reads key's entry at loc with one ranged GET, verifies it,
// and appends its raw bytes to dst. An entry stored as it is is read
// straight into dst's spare room and its data moved over the header: one
// buffer, no copy of the block but that move. A compressed one (the index
// says fewer stored bytes than raw) is read into dst's spare room past
// where its raw bytes go when there is room for both, into a pooled buffer
// otherwise, its CRC checked, and decoded into dst.
func (s *Store) readEntry(ctx context.Context, key ebs.Digest, loc Location, dst []byte) ([]byte, error) {
	n := pack.EntryHeaderSize + int(loc.StoredLen)
	start := len(dst)
	into, at := dst, start // where the entry is read: into[at:]
	var release func([]byte)
	if loc.StoredLen != loc.RawLen {
		if room := cap(dst) - start; room >= int(loc.RawLen)+decodeRoom+n {
			at = start + int(loc.RawLen) + decodeRoom
			into = dst[:at]
		} else {
			var bp *[]byte
			bp, release = s.compress.buffer()
			into, at = *bp, 0
		}
	}
	buf, err := s.objs.readRange(ctx, s.groupName(loc.Group), loc.Off, int64(n), into)
	if release != nil {
		defer func() { release(buf) }()
	}
	if err != nil {
		return dst, err
	}
	inPlace := at == start
	if inPlace {
		dst = buf[:start] // readRange may have grown it
	}
	out, err := decodeEntry(key, loc, buf[at:], dst, inPlace)
	if err != nil {
		return dst, fmt.Errorf("s3blocks: get %v from group %d at %d: %w", key, loc.Group, loc.Off, err)
	}
	return out, nil
}

// decodeRoom is what readEntry leaves between the raw bytes and a
// compressed entry read into the same buffer: pack.Decompress may write
// up to 32 bytes past the raw bytes (its fast loops' slack).
const decodeRoom = 64

// decodeEntry checks that entry is key's entry at loc, intact, and
// appends its raw bytes to dst. inPlace says entry is dst's spare room
// (entry's first byte is dst[len(dst)]), where the raw bytes of an entry
// stored as it is already are, but for the move over its header.
func decodeEntry(key ebs.Digest, loc Location, entry, dst []byte, inPlace bool) ([]byte, error) {
	if n := pack.EntryHeaderSize + int(loc.StoredLen); len(entry) != n {
		return dst, fmt.Errorf("%w: %d bytes read, want %d", pack.ErrCorrupt, len(entry), n)
	}
	// ParseEntryHeader refuses a codec it does not know with
	// ErrUnsupported: bytes a newer ebsd wrote, not damage, so Get
	// returns the error without dropping the key (as packblocks does).
	h, err := pack.ParseEntryHeader(entry[:pack.EntryHeaderSize])
	if err != nil {
		return dst, err
	}
	if h.Key != key {
		return dst, fmt.Errorf("%w: the entry holds %v", pack.ErrCorrupt, h.Key)
	}
	if h.Len != loc.StoredLen || h.RawLen != loc.RawLen {
		return dst, fmt.Errorf("%w: the entry holds %d bytes (%d raw), the index says %d (%d raw)",
			pack.ErrCorrupt, h.Len, h.RawLen, loc.StoredLen, loc.RawLen)
	}
	stored := entry[pack.EntryHeaderSize:]
	if err := h.Check(stored); err != nil {
		return dst, err
	}
	start := len(dst)
	switch {
	case h.Codec == pack.CodecNone && inPlace:
		copy(entry, stored)
		return dst[:start+int(h.RawLen)], nil
	case h.Codec == pack.CodecNone:
		return append(dst, stored...), nil
	case inPlace:
		// A compressed entry the index gave as long as its raw bytes (no
		// writer makes one: compressing must save 1/16): decoding into
		// dst would overwrite the frame as it is read.
		stored = append([]byte(nil), stored...)
	}
	// The frame's content checksum makes damage that its CRC missed (or
	// a decoder bug) ErrCorrupt, never other bytes.
	return pack.Decompress(dst, stored, int(h.RawLen))
}

// rangeReader is the bytes of an object from offset base on, as an
// io.ReaderAt in the object's offsets.
type rangeReader struct {
	b    []byte
	base int64
}

func (r rangeReader) ReadAt(p []byte, off int64) (int, error) {
	i := off - r.base
	if i < 0 || i > int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[i:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
