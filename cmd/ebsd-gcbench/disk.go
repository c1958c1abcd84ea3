package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// packBytes returns the bytes of the pack files of the server's data
// directory (blocks/packs/*.pack; the quarantine is not counted).
func packBytes(dataDir string) (int64, int, error) {
	entries, err := os.ReadDir(filepath.Join(dataDir, "blocks", "packs"))
	if err != nil {
		return 0, 0, err
	}
	var total int64
	var n int
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".pack") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return 0, 0, err
		}
		total += fi.Size()
		n++
	}
	return total, n, nil
}

// posixFadvDontNeed is POSIX_FADV_DONTNEED on Linux.
const posixFadvDontNeed = 4

// evictPacks drops the pack files of the server's data directory from the
// page cache (they are synced first, since the kernel only drops clean
// pages), so that the collection reads them from the disk, as on a server
// whose data exceeds its memory, rather than from the cache the fill left
// warm. The metadata stays cached, as it would on a server that runs.
func evictPacks(dataDir string) error {
	return filepath.WalkDir(filepath.Join(dataDir, "blocks", "packs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !strings.HasSuffix(path, ".pack") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil {
			return err
		}
		_, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, posixFadvDontNeed, 0, 0)
		if errno != 0 {
			return &os.PathError{Op: "fadvise", Path: path, Err: errno}
		}
		return nil
	})
}
