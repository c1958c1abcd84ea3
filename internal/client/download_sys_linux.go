package client

import (
	"os"
	"syscall"
	"unsafe"
)

// blkZeroOut is BLKZEROOUT, _IO(0x12, 127): zero a byte range of a block
// device, letting the device do it (WRITE ZEROES, or unmap on thin
// storage) instead of sending it zeros.
const blkZeroOut = 0x127f

// zeroOut zeroes n bytes at off of the block device f. It fails (ENOTTY)
// on a regular file, and where the device cannot do it.
func zeroOut(f *os.File, off, n int64) error {
	rng := [2]uint64{uint64(off), uint64(n)}
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), blkZeroOut, uintptr(unsafe.Pointer(&rng)))
	if errno != 0 {
		return errno
	}
	return nil
}

// punchHole deallocates n bytes at off of the regular file f, which then
// read as zeros; the file's size is kept. A range that holds no data
// already (SEEK_DATA finds none) is left alone: punching takes the
// file's lock and stalls the writers, and most ranges a resumed download
// zeroes are holes already.
func punchHole(f *os.File, off, n int64) error {
	const seekData = 3 // SEEK_DATA
	next, err := syscall.Seek(int(f.Fd()), off, seekData)
	if err == syscall.ENXIO || err == nil && next >= off+n {
		return nil
	}
	const punchHole, keepSize = 0x02, 0x01 // FALLOC_FL_PUNCH_HOLE, FALLOC_FL_KEEP_SIZE
	return syscall.Fallocate(int(f.Fd()), punchHole|keepSize, off, n)
}

// startWriteback asks the kernel to start writing n bytes at off of f to
// disk now (n = 0: up to the end of the file), without waiting for the
// writes: a download then overlaps its disk writes with the network,
// instead of leaving them all to the final fsync (see writeback).
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 0x2 // SYNC_FILE_RANGE_WRITE
	syscall.SyncFileRange(int(f.Fd()), off, n, syncFileRangeWrite)
}

// openDirect opens the file f (at path abs) a second time, write-only
// and O_DIRECT, for blockWriter; nil where that fails (a file system
// without direct I/O, such as tmpfs before Linux 6.6) or where the path
// no longer names f's file.
func openDirect(f *os.File, abs string) *os.File {
	d, err := os.OpenFile(abs, os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	a, aerr := f.Stat()
	b, berr := d.Stat()
	if aerr != nil || berr != nil || !os.SameFile(a, b) {
		d.Close()
		return nil
	}
	return d
}
