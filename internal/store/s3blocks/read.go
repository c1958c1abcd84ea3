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

// readEntry reads key's entry at loc with one ranged GET, straight into
// dst's spare room, verifies it, and moves its data over the header: one
// buffer, no copy of the block but that move.
func (s *Store) readEntry(ctx context.Context, key ebs.Digest, loc Location, dst []byte) ([]byte, error) {
	n := pack.EntryHeaderSize + int(loc.StoredLen)
	start := len(dst)
	buf, err := s.objs.readRange(ctx, s.groupName(loc.Group), loc.Off, int64(n), dst)
	if err != nil {
		return dst, err
	}
	entry := buf[start:]
	if len(entry) != n {
		return dst, fmt.Errorf("s3blocks: get %v from group %d: %w: %d bytes read, want %d", key, loc.Group, pack.ErrCorrupt, len(entry), n)
	}
	h, err := pack.ParseEntryHeader(entry[:pack.EntryHeaderSize])
	if err == nil && h.Key != key {
		err = fmt.Errorf("%w: the entry holds %v", pack.ErrCorrupt, h.Key)
	}
	if err == nil && (h.Len != loc.StoredLen || h.RawLen != loc.RawLen) {
		err = fmt.Errorf("%w: the entry holds %d bytes, the index says %d", pack.ErrCorrupt, h.Len, loc.StoredLen)
	}
	if err == nil {
		err = h.Check(entry[pack.EntryHeaderSize:])
	}
	if err != nil {
		return dst, fmt.Errorf("s3blocks: get %v from group %d at %d: %w", key, loc.Group, loc.Off, err)
	}
	copy(entry, entry[pack.EntryHeaderSize:])
	return buf[:start+int(loc.RawLen)], nil
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
