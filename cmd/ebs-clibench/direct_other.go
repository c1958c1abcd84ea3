//go:build !linux

package main

import "os"

// createDirect creates the file path (replacing one that exists), for
// buffered writes: direct I/O is Linux's here.
func createDirect(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}
