//go:build !unix || solaris || illumos || aix

package client

import "os"

// lockFile is a no-op where flock is not available.
func lockFile(*os.File) error { return nil }
