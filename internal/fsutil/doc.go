// Package fsutil holds the few file-system steps that durability depends
// on, written once: syncing a directory so that the entries created or
// removed in it survive a power loss, creating directories durably, and
// writing a whole file atomically.
//
// Modes: ebsd keeps secrets and block data, so everything it creates is
// private to its user: directories 0700 and files 0600 (DirMode, FileMode),
// whoever created the parent.
package fsutil

import "io/fs"

// Modes of everything ebsd creates.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)
