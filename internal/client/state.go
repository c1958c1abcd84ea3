package client

import (
	"os"
	"path/filepath"
)

// DefaultStateDir is where upload journals and block manifests live:
// $XDG_STATE_HOME/ebs, else ~/.local/state/ebs, else ./.ebs-state.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "ebs")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "ebs")
	}
	return ".ebs-state"
}
