//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package server

import (
	"errors"
	"os"
)

// errLocked is tryLock's error when another open file holds the lock.
var errLocked = errors.New("locked")

// tryLock does nothing where there is no flock: the pid is still written,
// and Pebble's own lock of meta/ still stops a second server.
func tryLock(*os.File) error { return nil }
