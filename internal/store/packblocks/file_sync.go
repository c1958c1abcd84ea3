package packblocks

import (
	"errors"
	"os"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// syncData makes f's data durable, and with it the metadata needed to read
// it back (its size): fdatasync on Linux, without the inode's timestamps
// that fsync would also write.
func syncData(f vfs.File) error {
	for {
		// vfs calls fdatasync directly, without the retry on EINTR that the
		// os package does for fsync.
		if err := f.SyncData(); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// chmoder is implemented by the files of the operating system's vfs.FS,
// which embed *os.File; vfs.FS itself creates files 0666 minus the umask.
type chmoder interface{ Chmod(os.FileMode) error }

// makePrivate gives a file the store created mode fsutil.FileMode, where
// the file system has modes: packs hold block data in the clear.
func makePrivate(f vfs.File) error {
	if c, ok := f.(chmoder); ok {
		return c.Chmod(fsutil.FileMode)
	}
	return nil
}
