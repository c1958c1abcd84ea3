//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package keyring

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// lockFile waits for an exclusive flock on the file at path, creating it
// if needed, and returns the function that releases it. Every process that
// writes the keys file holds this lock from its re-read to its rename, so
// no writer overwrites keys it has not seen.
func lockFile(path string) (unlock func(), err error) {
	if err := fsutil.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("keyring: lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fsutil.FileMode)
	if err != nil {
		return nil, fmt.Errorf("keyring: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("keyring: lock %s: %w", path, err)
	}
	// Closing the descriptor releases the lock.
	return func() { f.Close() }, nil
}
