// Package vfsdir makes directories durable on a Pebble vfs.FS: the
// embedded stores keep every file on a vfs.FS, so that the power-loss
// harness can run them on a crashable in-memory file system. These are
// fsutil.SyncDir and fsutil.MkdirAll for a vfs.FS (fsutil serves the
// operating system's file system, for code that knows no vfs).
package vfsdir

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// Sync makes the creation, removal and renaming of entries in dir durable.
func Sync(fsys vfs.FS, dir string) error {
	d, err := fsys.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
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

// MkdirAll creates dir and its missing parents with mode fsutil.DirMode,
// and makes each directory it created durable by syncing its parent (a
// directory's entry lives in its parent): otherwise a power loss could
// take away a directory holding acknowledged data.
func MkdirAll(fsys vfs.FS, dir string) error {
	var created []string
	for d := dir; ; d = fsys.PathDir(d) {
		_, err := fsys.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("create directory %s: %w", dir, err)
		}
		created = append(created, d)
		if fsys.PathDir(d) == d {
			break
		}
	}
	if len(created) == 0 {
		return nil
	}
	if err := fsys.MkdirAll(dir, fsutil.DirMode); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	for _, d := range created {
		if err := Sync(fsys, fsys.PathDir(d)); err != nil {
			return err
		}
	}
	return nil
}

// SyncChain syncs dir and each of its ancestors up to the root, so that
// the path to dir is durable. A store's Open calls it every time: an Open
// that crashed may have created directories of the path without syncing
// their entries, and a directory's existence says nothing about whether
// its entry is durable. Syncing a directory with nothing new in it is
// cheap. An ancestor the process may not open was not created by the
// store (stores create directories 0700 for themselves); its durability
// is the business of whoever made it.
func SyncChain(fsys vfs.FS, dir string) error {
	for d := dir; ; {
		if err := Sync(fsys, d); err != nil && !(d != dir && errors.Is(err, fs.ErrPermission)) {
			return err
		}
		parent := fsys.PathDir(d)
		if parent == d {
			return nil
		}
		d = parent
	}
}
