package server

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	first, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, lockFileName)
	if got, want := readPid(path), os.Getpid(); got != want {
		t.Errorf("lock file names pid %d, want %d", got, want)
	}

	// flock locks belong to the open file, so a second open in this
	// process conflicts just as another process would.
	_, err = lockDataDir(dir)
	if !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("second lock: err = %v, want ErrDataDirInUse", err)
	}
	for _, want := range []string{"another ebsd (pid " + strconv.Itoa(os.Getpid()) + ")", dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second lock: %q does not say %q", err, want)
		}
	}

	if err := first.release(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Errorf("released lock file still holds %q", b)
	}
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.release()
}

func TestInUseErrorWithoutPid(t *testing.T) {
	err := &inUseError{dir: "/var/lib/ebsd"}
	if got := err.Error(); !strings.HasPrefix(got, "another ebsd is using the data directory /var/lib/ebsd") {
		t.Errorf("Error() = %q", got)
	}
}
