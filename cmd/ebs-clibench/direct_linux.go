package main

import (
	"errors"
	"os"
	"syscall"
)

// createDirect creates the file path (replacing one that exists) for
// direct writes, as ebs download writes its blocks; where the file system
// refuses O_DIRECT, for buffered writes.
func createDirect(path string) (*os.File, error) {
	const flags = os.O_RDWR | os.O_CREATE | os.O_TRUNC
	f, err := os.OpenFile(path, flags|syscall.O_DIRECT, 0o600)
	if errors.Is(err, syscall.EINVAL) {
		return os.OpenFile(path, flags, 0o600)
	}
	return f, err
}
