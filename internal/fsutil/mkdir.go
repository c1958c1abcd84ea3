package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MkdirAll creates dir and any missing parents with mode DirMode, and makes
// every directory it created durable by syncing the parent of each (a new
// directory's entry lives in its parent). A dir that already exists is left
// as it is; Private also tightens its mode.
func MkdirAll(dir string) error {
	dir = filepath.Clean(dir)
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		_, err := os.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("create directory %s: %w", dir, err)
		}
		created = append(created, d)
		if parent := filepath.Dir(d); parent == d {
			break
		}
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	// Sync from the deepest new directory up: each parent records its
	// child's entry.
	for _, d := range created {
		if err := SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// Private creates dir like MkdirAll and then makes sure that only its owner
// can read it, whoever created it: an operator-made /var/lib/ebsd is 0755
// by default, and ebsd keeps secrets and plaintext blocks below it.
func Private(dir string) error {
	if err := MkdirAll(dir); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, fi.Mode().Perm()&^0o077); err != nil {
			return fmt.Errorf("make %s private: %w", dir, err)
		}
	}
	return nil
}
