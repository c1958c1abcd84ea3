package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// OpenImage opens a raw disk image, a regular file or a block device, for
// reading and returns its size in bytes. The size comes from seeking to
// the end, which works for both (Stat reports 0 for a block device).
func OpenImage(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	switch m := st.Mode(); {
	case m.IsDir():
		f.Close()
		return nil, 0, fmt.Errorf("%s is a directory, not a disk image", path)
	case !m.IsRegular() && (m&os.ModeDevice == 0 || m&os.ModeCharDevice != 0):
		// Pipes and character devices cannot be read at offsets, and
		// have no size.
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file or a block device", path)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("size of %s: %w", path, err)
	}
	return f, size, nil
}

// blockCount returns how many blocks an image of size bytes spans, the
// last one possibly partial.
func blockCount(size int64) int64 { return (size + BlockSize - 1) / BlockSize }

// readBlock reads block index of an image of size bytes into buf (one
// block long), padding past the end of the image with zeros. Blocks wholly
// past the end read as zeros without touching img.
func readBlock(img io.ReaderAt, size int64, index int64, buf []byte) error {
	off := index * BlockSize
	n := min(max(size-off, 0), BlockSize)
	if n > 0 {
		got, err := img.ReadAt(buf[:n], off)
		if int64(got) < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read block %d of the image: %w (did the image shrink?)", index, err)
		}
	}
	clear(buf[n:])
	return nil
}

// isZero reports whether b is all zeros. If the first 8 bytes are zero and
// every byte equals the one 8 bytes before it, all are zero; that test is
// one bytes.Equal, which runs at memory speed with vector instructions and
// stops at the first difference, so random data costs next to nothing.
func isZero(b []byte) bool {
	if len(b) < 8 {
		for _, c := range b {
			if c != 0 {
				return false
			}
		}
		return true
	}
	return binary.LittleEndian.Uint64(b) == 0 && bytes.Equal(b[8:], b[:len(b)-8])
}
