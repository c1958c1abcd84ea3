package credentials

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// errFileExists means createFileAtomic found the file already there.
var errFileExists = errors.New("file exists")

// createFileAtomic writes data to path so that path either does not exist
// or holds all of data, even after a crash: the data goes to a temporary
// file (mode 0600) in the same directory, is fsynced, then linked into
// place, and the directory is fsynced. Missing parent directories are
// created with mode 0700.
//
// If path already exists, createFileAtomic leaves it alone and returns
// errFileExists: two ebsd processes starting at once must not overwrite
// each other's freshly generated keys.
func createFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // CreateTemp uses mode 0600
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			os.Remove(tmpName) // best effort: the error being returned matters more
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}

	// Link, unlike rename, fails if path exists.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errFileExists
		}
		// Some file systems have no hard links. Fall back to rename, which
		// is atomic too but would replace a file created since the check.
		if _, statErr := os.Lstat(path); statErr == nil {
			return errFileExists
		}
		if err := os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("rename temporary file: %w", err)
		}
	} else if err := os.Remove(tmpName); err != nil {
		// After the link, the temporary name is a second name for the file.
		// Remove it before syncing the directory, so that a crash cannot
		// leave a stray copy of the secrets behind.
		return fmt.Errorf("remove temporary file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// syncDir makes the creation of a directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		// Windows cannot open a directory for syncing; NTFS journals
		// metadata changes itself.
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
