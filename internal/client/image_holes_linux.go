package client

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// lseek whence values for sparse files (linux/fs.h).
const (
	seekData = 3
	seekHole = 4
)

// holeMap tells which parts of a sparse file are holes, with
// SEEK_DATA/SEEK_HOLE, so that blocks wholly inside a hole are known to be
// zero without reading them. That matters: reading a hole of a freshly
// written image makes the kernel allocate and zero page-cache pages for it,
// which costs more than a second per GiB on some machines, all for blocks
// that are then skipped. cp, tar and qemu-img trust the same calls.
type holeMap struct {
	f                  *os.File
	size               int64
	dataStart, dataEnd int64 // the next data region at or after the last query
	known              bool  // the region above is valid
	off                bool  // the file system cannot tell: nothing is a hole
}

// newHoleMap returns a hole map of img, or nil when img is not a file.
func newHoleMap(img io.ReaderAt, size int64) *holeMap {
	f, ok := img.(*os.File)
	if !ok {
		return nil
	}
	return &holeMap{f: f, size: size}
}

// hole reports whether [off, off+n) lies wholly in a hole. Queries must come
// with ascending offsets. Any doubt answers false, and the block is read.
func (m *holeMap) hole(off, n int64) bool {
	if m == nil || m.off || off >= m.size {
		return false
	}
	if !m.known || off >= m.dataEnd {
		start, err := m.f.Seek(off, seekData)
		switch {
		case errors.Is(err, syscall.ENXIO):
			// No data at or after off: the rest of the file is a hole.
			m.dataStart, m.dataEnd = m.size, m.size
		case err != nil:
			m.off = true
			return false
		default:
			end, err := m.f.Seek(start, seekHole)
			if err != nil || end <= start {
				m.off = true
				return false
			}
			m.dataStart, m.dataEnd = start, end
		}
		m.known = true
	}
	return off+n <= m.dataStart
}
