package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExist is returned by CreateFile when the file is already there.
var ErrExist = fs.ErrExist

// WriteFile replaces the file at path with data, mode FileMode, atomically
// and durably: after a crash the file holds either its old or its new
// content, never a mix, and the new content survives once WriteFile
// returns. Missing parent directories are created with MkdirAll.
func WriteFile(path string, data []byte) error {
	return writeFile(path, data, false)
}

// CreateFile is WriteFile for a file that must not exist yet: when path
// exists it leaves it alone and returns an error matching ErrExist. Two
// processes starting at once therefore never overwrite each other's
// freshly generated secrets.
func CreateFile(path string, data []byte) error {
	return writeFile(path, data, true)
}

func writeFile(path string, data []byte, exclusive bool) (err error) {
	dir := filepath.Dir(path)
	if err := MkdirAll(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			os.Remove(tmpName) // best effort: the error being returned matters more
		}
	}()
	if err := tmp.Chmod(FileMode); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod temporary file: %w", err)
	}
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
	if exclusive {
		err = linkExclusive(tmpName, path)
	} else {
		err = os.Rename(tmpName, path)
	}
	if err != nil {
		return err
	}
	return SyncDir(dir)
}

// linkExclusive gives the file at tmp the name path, failing with ErrExist
// when path exists, and removes the name tmp.
func linkExclusive(tmp, path string) error {
	// Link, unlike rename, fails if path exists.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, ErrExist)
		}
		// Some file systems have no hard links. Fall back to rename, which
		// is atomic too but would replace a file created since the check.
		if _, statErr := os.Lstat(path); statErr == nil {
			return fmt.Errorf("create %s: %w", path, ErrExist)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename temporary file: %w", err)
		}
		return nil
	}
	// After the link, the temporary name is a second name for the file.
	// Remove it before syncing the directory, so that a crash cannot leave
	// a stray copy of the secrets behind.
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("remove temporary file: %w", err)
	}
	return nil
}
