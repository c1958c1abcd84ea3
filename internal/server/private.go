package server

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// storeDirs are the data directory's subdirectories that ebsd alone
// writes: the metadata and the blocks.
var storeDirs = []string{"meta", "blocks"}

// makePrivate makes the data directory and everything ebsd keeps below it
// accessible to its owner only, whoever created them: an operator-made
// data directory is often 0755, and an ebsd before 2026-12 created packs
// 0644. The pack files hold plaintext blocks and meta/ the token secret.
//
// Files that the stores create later get the process's umask, which
// cmd/ebsd sets to 077; the directories above them are private anyway.
func makePrivate(ctx context.Context, dataDir string) error {
	if err := fsutil.Private(dataDir); err != nil {
		return err
	}
	for _, name := range storeDirs {
		dir := filepath.Join(dataDir, name)
		// Created here, they are private even for a server embedded in a
		// process with a lax umask.
		if err := fsutil.Private(dir); err != nil {
			return err
		}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() {
				return fsutil.Private(path)
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				if err := os.Chmod(path, perm&^0o077); err != nil {
					return fmt.Errorf("make %s private: %w", path, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
