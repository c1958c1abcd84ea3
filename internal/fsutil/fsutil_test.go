package fsutil_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebsd/ebsd/internal/fsutil"
)

func TestWriteFileReplacesWithPrivateMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "f.json")
	for _, content := range []string{"first", "second"} {
		if err := fsutil.WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
	}
	assertMode(t, path, fsutil.FileMode)
	assertMode(t, dir, fsutil.DirMode)
	assertMode(t, filepath.Dir(dir), fsutil.DirMode)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left behind)", len(entries))
	}
}

func TestCreateFileKeepsExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := fsutil.CreateFile(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := fsutil.CreateFile(path, []byte("second"))
	if !errors.Is(err, fsutil.ErrExist) {
		t.Fatalf("second CreateFile: err = %v, want ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "first" {
		t.Fatalf("file holds %q after a refused CreateFile, want %q", got, "first")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestPrivateTightensExistingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if err := fsutil.Private(dir); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, fsutil.DirMode)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}
