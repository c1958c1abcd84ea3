package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSecondEbsdOnSameDataDir starts two ebsd processes on one data
// directory: the second must exit at once and say that another ebsd, with
// the first one's pid, uses that directory, instead of Pebble's "resource
// temporarily unavailable". After the first stops, a new one starts.
func TestSecondEbsdOnSameDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	home := t.TempDir()
	dataDir := filepath.Join(t.TempDir(), "data")
	first := startProcess(t, home, "-data-dir", dataDir)

	bin, err := ebsdBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(withTimeout(t, 30*time.Second), bin, "-addr", "127.0.0.1:0", "-data-dir", dataDir)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 {
		t.Fatalf("second ebsd: exit %d (%v), want 1; output:\n%s", code, err, out)
	}
	pid := strconv.Itoa(first.cmd.Process.Pid)
	for _, want := range []string{"another ebsd (pid " + pid + ")", dataDir} {
		if !strings.Contains(string(out), want) {
			t.Errorf("second ebsd said:\n%s\nwant it to contain %q", out, want)
		}
	}
	if strings.Contains(string(out), "resource temporarily unavailable") {
		t.Errorf("second ebsd still shows the system error:\n%s", out)
	}

	first.stop(t)
	third := startProcess(t, home, "-data-dir", dataDir)
	third.stop(t)
}
