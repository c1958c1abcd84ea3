package pack

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/ebsd/ebsd/internal/ebs"
)

// ReadEntry reads the entry whose header is at off in r, checks that it is
// intact and holds key, and appends its raw data (decoded by its codec) to
// dst. It reads entries of either version. It reads with ReadAt only, so
// concurrent calls on one r do not serialize. On error it returns dst
// unchanged and an error that wraps ErrCorrupt when the bytes are not
// key's valid entry (including an entry cut short by the end of r),
// ErrUnsupported when the entry is valid but encoded in a way this package
// cannot decode, or the reader's error otherwise.
func ReadEntry(r io.ReaderAt, off int64, key ebs.Digest, dst []byte) ([]byte, error) {
	out, _, err := ReadEntryHeader(r, off, key, dst)
	return out, err
}

// ReadEntryHeader is ReadEntry that also returns the entry's header, for
// owners that check its stored length against their index.
func ReadEntryHeader(r io.ReaderAt, off int64, key ebs.Digest, dst []byte) ([]byte, EntryHeader, error) {
	h, err := readEntryHeader(r, off)
	if err != nil {
		return dst, h, fmt.Errorf("pack: entry at %d: %w", off, err)
	}
	if h.Key != key {
		return dst, h, fmt.Errorf("%w: entry at %d holds %v, want %v", ErrCorrupt, off, h.Key, key)
	}
	out, err := readData(r, off, h, dst)
	return out, h, err
}

// readData reads the data of the entry h at off and appends its raw bytes
// to dst.
func readData(r io.ReaderAt, off int64, h EntryHeader, dst []byte) ([]byte, error) {
	if h.Codec == CodecNone {
		// The stored bytes are the raw bytes: read them straight into dst.
		n := len(dst)
		out := slices.Grow(dst, int(h.Len))[:n+int(h.Len)]
		if err := readFull(r, out[n:], off+h.HeaderSize()); err != nil {
			return dst, fmt.Errorf("pack: entry at %d: data: %w", off, err)
		}
		if err := h.Check(out[n:]); err != nil {
			return dst, fmt.Errorf("pack: entry at %d: %w", off, err)
		}
		return out, nil
	}
	// CodecZstd (ParseEntryHeader refuses the others): the stored bytes
	// are checked before they are decoded, and decoded into dst.
	bp := storedBufs.Get().(*[]byte)
	defer storedBufs.Put(bp)
	stored := slices.Grow((*bp)[:0], int(h.Len))[:h.Len]
	*bp = stored[:0]
	if err := readFull(r, stored, off+h.HeaderSize()); err != nil {
		return dst, fmt.Errorf("pack: entry at %d: data: %w", off, err)
	}
	if err := h.Check(stored); err != nil {
		return dst, fmt.Errorf("pack: entry at %d: %w", off, err)
	}
	out, err := Decompress(dst, stored, int(h.RawLen))
	if err != nil {
		return dst, fmt.Errorf("pack: entry at %d (%v): %w", off, h.Key, err)
	}
	return out, nil
}

// storedBufs holds the buffers ReadEntry reads compressed entries into
// before decoding them: one per read in flight, reused, so that reads do
// not allocate.
var storedBufs = sync.Pool{New: func() any { return new([]byte) }}

// readEntryHeader reads and parses the header at off in r, of either
// version: the bytes common to both, then the rest of a longer one.
func readEntryHeader(r io.ReaderAt, off int64) (EntryHeader, error) {
	var buf [entryHeaderSizeV2]byte
	if err := readFull(r, buf[:minEntryHeaderSize], off); err != nil {
		return EntryHeader{}, fmt.Errorf("header: %w", err)
	}
	if n := headerSizeAt(buf[:]); n > minEntryHeaderSize && string(buf[:4]) == entryMagic {
		if err := readFull(r, buf[minEntryHeaderSize:n], off+minEntryHeaderSize); err != nil {
			return EntryHeader{}, fmt.Errorf("header: %w", err)
		}
	}
	return ParseEntryHeader(buf[:])
}

// readFull fills b from r at off. Running into the end of r means the
// entry was cut short, which is corruption, not an I/O failure.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %d of %d bytes before the end: %w", ErrCorrupt, n, len(b), io.ErrUnexpectedEOF)
	}
	return err
}
