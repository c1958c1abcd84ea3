package server

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestMakePrivateTightensOldStores gives makePrivate a data directory as
// an operator and an older ebsd left it: 0755 directories and 0644 files.
func TestMakePrivateTightensOldStores(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	entries := []struct {
		path string
		dir  bool
	}{
		{"", true},
		{"blocks", true},
		{"blocks/packs", true},
		{"blocks/packs/00000000.pack", false},
		{"meta", true},
		{"meta/000002.log", false},
	}
	for _, e := range entries {
		p := filepath.Join(dataDir, e.path)
		mode := os.FileMode(0o644)
		if e.dir {
			mode = 0o755
			if err := os.Mkdir(p, mode); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	// Not ebsd's: an operator's file next to the stores keeps its mode.
	cert := filepath.Join(dataDir, "tls.crt")
	if err := os.WriteFile(cert, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(cert, 0o644)

	if err := makePrivate(context.Background(), dataDir); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(dataDir, e.path))
		if err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o600)
		if e.dir {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", e.path, got, want)
		}
	}
	if fi, _ := os.Stat(cert); fi.Mode().Perm() != 0o644 {
		t.Errorf("tls.crt: mode %04o, want it left at 0644", fi.Mode().Perm())
	}
}
