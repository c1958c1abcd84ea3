package pack

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ebsd/ebsd/internal/ebs"
)

// ReadEntry reads the entry whose header is at off in r, checks that it is
// intact and holds key, and appends its data to dst. It reads with ReadAt
// only, so concurrent calls on one r do not serialize. On error it returns
// dst unchanged and an error that wraps ErrCorrupt when the bytes are not
// key's valid entry (including an entry cut short by the end of r), or the
// reader's error otherwise.
func ReadEntry(r io.ReaderAt, off int64, key ebs.Digest, dst []byte) ([]byte, error) {
	var buf [EntryHeaderSize]byte
	if err := readFull(r, buf[:], off); err != nil {
		return dst, fmt.Errorf("pack: entry at %d: header: %w", off, err)
	}
	h, err := ParseEntryHeader(buf[:])
	if err != nil {
		return dst, fmt.Errorf("pack: entry at %d: %w", off, err)
	}
	if h.Key != key {
		return dst, fmt.Errorf("%w: entry at %d holds %v, want %v", ErrCorrupt, off, h.Key, key)
	}
	n := len(dst)
	out := slices.Grow(dst, int(h.Len))[:n+int(h.Len)]
	if err := readFull(r, out[n:], off+EntryHeaderSize); err != nil {
		return dst, fmt.Errorf("pack: entry at %d: data: %w", off, err)
	}
	if err := h.Check(out[n:]); err != nil {
		return dst, fmt.Errorf("pack: entry at %d: %w", off, err)
	}
	return out, nil
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
