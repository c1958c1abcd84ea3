package client

import (
	"errors"
	"fmt"
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
// that are then skipped. cp, tar and qemu-img trust the same calls, and
// have been bitten by them: OpenZFS 2.1 and 2.2.0-2.2.1 reported recently
// written, still dirty data as holes (openzfs #15526), and an upload that
// believed it would record zeros that no checksum catches (review F11).
// So the data is synced before the first probe (probeHoles), and
// UploadInput.NoSparse (ebs upload --no-sparse) does without probing.
type holeMap struct {
	p                  holeProber
	size               int64
	dataStart, dataEnd int64 // the next data region at or after the last query
	known              bool  // the region above is valid
	off                bool  // the file system cannot tell: nothing is a hole
}

// sparseFile is what probing an image for holes needs of it: an *os.File,
// or a type that wraps one (tests count reads through such a wrapper).
type sparseFile interface {
	Fd() uintptr
	Stat() (os.FileInfo, error)
}

// holeProber is the file system under a hole map: system calls on the
// image's descriptor, or a fake in tests.
type holeProber interface {
	datasync() error
	seek(off int64, whence int) (int64, error)
}

// fdProber probes the open file with this descriptor.
type fdProber uintptr

func (fd fdProber) datasync() error { return syscall.Fdatasync(int(fd)) }
func (fd fdProber) seek(off int64, whence int) (int64, error) {
	return syscall.Seek(int(fd), off, whence)
}

// newHoleMap returns a hole map of img, or nil when img is not a regular
// file: a block device, or a reader of another kind, is read whole. An
// error means the image could not be synced; the caller then reads every
// block.
func newHoleMap(img io.ReaderAt, size int64) (*holeMap, error) {
	f, ok := img.(sparseFile)
	if !ok {
		return nil, nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, nil
	}
	return probeHoles(fdProber(f.Fd()), size)
}

// probeHoles returns the hole map of a file of size bytes, after syncing
// its data: a file system then has the file's final layout on disk, and
// no dirty data for SEEK_DATA to overlook. fdatasync works on the
// read-only descriptor an image is opened with.
func probeHoles(p holeProber, size int64) (*holeMap, error) {
	if err := p.datasync(); err != nil {
		return nil, fmt.Errorf("fdatasync the image before looking for holes: %w", err)
	}
	return &holeMap{p: p, size: size}, nil
}

// hole reports whether [off, off+n) lies wholly in a hole. Queries must come
// with ascending offsets. Any doubt answers false, and the block is read.
func (m *holeMap) hole(off, n int64) bool {
	if m == nil || m.off || off >= m.size {
		return false
	}
	if !m.known || off >= m.dataEnd {
		start, err := m.p.seek(off, seekData)
		switch {
		case errors.Is(err, syscall.ENXIO):
			// No data at or after off: the rest of the file is a hole.
			m.dataStart, m.dataEnd = m.size, m.size
		case err != nil:
			m.off = true
			return false
		default:
			end, err := m.p.seek(start, seekHole)
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
