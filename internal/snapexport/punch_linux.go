package snapexport

import (
	"os"
	"syscall"
)

// punchHole deallocates n bytes at off of f, which then read as zeros
// (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE).
func punchHole(f *os.File, off, n int64) error {
	return syscall.Fallocate(int(f.Fd()), 0x02|0x01, off, n)
}
