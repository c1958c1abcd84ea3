package fsutil

import (
	"fmt"
	"os"
	"runtime"
)

// SyncDir makes the creation, removal and renaming of entries in dir
// durable. On Windows, which cannot open a directory for syncing and whose
// NTFS journals metadata itself, it does nothing.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
