package client

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// target is the file or block device a download writes, opened and
// locked. Its methods hide the difference between the two: a file is
// sparse (zeros are holes), a device is written everywhere.
type target struct {
	f          *os.File
	writer     *blockWriter // writes the blocks
	path, abs  string
	device     bool // written like a block device
	existed    bool // the path existed before this download
	created    bool // this download created the file
	resume     bool // continuing an earlier run (set by prepare)
	noZeroFill bool
}

// ErrLocked means another process, most likely another ebs download,
// holds the lock on the download's target.
var ErrLocked = errors.New("locked by another process")

// openTarget opens in.Path for writing and takes an exclusive lock on it,
// without waiting: two downloads into one file fail fast instead of
// interleaving or hanging (coldsnap #353). An existing regular file is
// refused unless Force or Resume.
func openTarget(in DownloadInput) (*target, error) {
	abs, err := filepath.Abs(in.Path)
	if err != nil {
		return nil, err
	}
	t := &target{path: in.Path, abs: abs, noZeroFill: in.NoZeroFill}
	fi, err := os.Stat(in.Path)
	switch {
	case err == nil && isBlockDevice(fi.Mode()):
		t.device = true
	case err == nil && fi.Mode().IsRegular():
		t.device = in.AsDevice
	case err == nil:
		return nil, fmt.Errorf("%s is neither a regular file nor a block device", in.Path)
	case errors.Is(err, os.ErrNotExist) && in.AsDevice:
		return nil, fmt.Errorf("device %s: %w", in.Path, err)
	case errors.Is(err, os.ErrNotExist):
	default:
		return nil, err
	}
	if t.device {
		t.f, err = os.OpenFile(in.Path, os.O_RDWR, 0)
		t.existed = true
	} else {
		t.f, err = os.OpenFile(in.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		t.created = err == nil
		if errors.Is(err, os.ErrExist) {
			t.f, err = os.OpenFile(in.Path, os.O_RDWR, 0)
			t.existed = true
		}
	}
	if err != nil {
		return nil, err
	}
	if err := lockFile(t.f); err != nil {
		t.f.Close()
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%s is %w (another ebs download into it?): wait for it to finish, or download into another path", in.Path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", in.Path, err)
	}
	if t.existed && !t.device && !in.Force && !in.Resume {
		t.f.Close()
		return nil, fmt.Errorf("%s already exists: pass --force to overwrite it, or --resume to continue an interrupted download into it", in.Path)
	}
	t.writer = openBlockWriter(t)
	return t, nil
}

func isBlockDevice(m os.FileMode) bool {
	return m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0
}

// close releases the lock and the file.
func (t *target) close() error {
	t.writer.close()
	return t.f.Close()
}

// writeBlock writes block buf at off, around the page cache where it can
// (see blockWriter). It reports whether the block went to the page
// cache instead, to be written back.
func (t *target) writeBlock(buf []byte, off int64) (cached bool, err error) {
	return t.writer.writeAt(t.f, buf, off)
}

// discard removes the file if this download created it and nothing was
// written yet (the snapshot could not be read at all).
func (t *target) discard() {
	if t.created {
		os.Remove(t.path)
	}
}

// prepare sizes the target for a volume of volBytes. A file that is not
// resumed is emptied first, so that everything not written is a hole; a
// device is checked to be large enough, and never truncated.
func (t *target) prepare(volBytes int64, resume bool) error {
	t.resume = resume
	if t.device {
		size, err := t.f.Seek(0, io.SeekEnd)
		if err != nil {
			return fmt.Errorf("size of %s: %w", t.path, err)
		}
		if size < volBytes {
			return fmt.Errorf("%s holds %d bytes, less than the snapshot's volume of %d GiB (%d bytes)", t.path, size, volBytes>>30, volBytes)
		}
		return nil
	}
	if !resume {
		if err := t.f.Truncate(0); err != nil {
			return err
		}
	}
	return t.f.Truncate(volBytes)
}

// fillsGaps reports whether the ranges of unlisted blocks must be zeroed:
// on a device (unless NoZeroFill), and in a resumed file, where they may
// no longer be holes.
func (t *target) fillsGaps() bool {
	if t.device {
		return !t.noZeroFill
	}
	return t.resume
}

// zeroRange makes n bytes at off read as zeros, by the cheapest means
// that works: BLKZEROOUT (a device), a punched hole (a file, or a device
// whose kernel zeroes on fallocate), else writing zeros. buf is scratch
// space.
func (t *target) zeroRange(off, n int64, buf []byte) error {
	if t.device && zeroOut(t.f, off, n) == nil {
		return nil
	}
	if punchHole(t.f, off, n) == nil {
		return nil
	}
	return t.writeZeros(off, n, buf)
}

// writeZeroBlock stores an all-zero block at off; buf holds it. A device
// gets it written; a fresh file leaves the hole it has; a resumed file
// gets a hole punched, in case an earlier run left data there.
func (t *target) writeZeroBlock(off int64, buf []byte) error {
	switch {
	case t.device:
		_, err := t.writeBlock(buf, off)
		return err
	case t.resume:
		return t.zeroRange(off, BlockSize, buf)
	}
	return nil
}

func (t *target) writeZeros(off, n int64, buf []byte) error {
	clear(buf)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := t.f.WriteAt(buf[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}

// matches reports whether the block at off still has digest want; buf is
// scratch space.
func (t *target) matches(off int64, buf []byte, want [sha256.Size]byte) bool {
	n, err := t.f.ReadAt(buf, off)
	if n != len(buf) || (err != nil && err != io.EOF) {
		return false
	}
	return sha256.Sum256(buf) == want
}
