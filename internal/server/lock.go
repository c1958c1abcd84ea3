package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// lockFileName is the file in the data directory that a running ebsd
// holds locked and writes its pid to.
const lockFileName = "ebsd.lock"

// ErrDataDirInUse is matched (with errors.Is) by Open's error when another
// process holds the data directory.
var ErrDataDirInUse = errors.New("data directory in use")

// dataDirLock is a running server's claim on its data directory. Pebble
// locks meta/ too, but its error, "resource temporarily unavailable",
// does not say who holds it; this lock is taken first and names the pid.
// The lock is the kernel's (flock), so it dies with the process: a kill -9
// leaves a file with a stale pid but no stale lock.
type dataDirLock struct {
	f *os.File
}

// lockDataDir takes the lock of dir, which must exist, and writes this
// process's pid into the lock file.
func lockDataDir(dir string) (*dataDirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fsutil.FileMode)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, &inUseError{dir: dir, pid: readPid(path)}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid only makes a second ebsd's error clearer: on a disk so full
	// that even these few bytes do not fit, the lock holds without it (the
	// other ebsd then names no pid) rather than stop a start whose purpose
	// may be to serve reads until space is freed.
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(pid, 0)
	}
	return &dataDirLock{f: f}, nil
}

// release empties the lock file, so that its pid never names a process
// that has stopped, and drops the lock. The file stays: removing it would
// let a starting ebsd lock a name that a third one is about to unlink.
func (l *dataDirLock) release() error {
	terr := l.f.Truncate(0)
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("release data directory lock: %w", err)
	}
	if terr != nil {
		return fmt.Errorf("empty lock file: %w", terr)
	}
	return nil
}

// readPid returns the pid in the lock file at path, or 0 if there is none
// yet (its holder may be between locking and writing).
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// inUseError says which process uses a data directory.
type inUseError struct {
	dir string
	pid int // 0 = unknown
}

func (e *inUseError) Error() string {
	who := "another ebsd"
	if e.pid > 0 {
		who = fmt.Sprintf("another ebsd (pid %d)", e.pid)
	}
	return fmt.Sprintf("%s is using the data directory %s; stop it, or give this one another data directory", who, e.dir)
}

func (e *inUseError) Is(target error) bool { return target == ErrDataDirInUse }

// LockDataDir takes the lock a running ebsd holds on dir, for offline
// commands that open dir's stores without a Server (ebsd migrate): it
// fails, naming the pid, while an ebsd serves dir. release drops it.
func LockDataDir(dir string) (release func() error, err error) {
	l, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}
