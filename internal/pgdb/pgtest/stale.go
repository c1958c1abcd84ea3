package pgtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// staleAge is how old a cluster directory with no running server must be
// before removeStale removes it: older than any cluster still starting.
const staleAge = 10 * time.Minute

// removeStale removes the directories of clusters whose test binary was
// killed (kill -9 leaves the directory; the server itself got SIGQUIT):
// those older than staleAge whose postmaster is not running.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "ebsd-pgtest-*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < staleAge {
			continue
		}
		if pidFile, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			pid, _ := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
			if pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH {
				continue // running, or we cannot tell
			}
		}
		_ = os.RemoveAll(d)
	}
}
