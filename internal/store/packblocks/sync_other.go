//go:build !linux

package packblocks

import "os"

// fdatasync makes f's data durable; outside Linux it is a full fsync.
func fdatasync(f *os.File) error { return f.Sync() }
