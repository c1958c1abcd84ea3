package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSoakSmoke builds ebsd and ebsd-soak and runs a 6-second soak with 8
// clients, sampled every second: it must pass (no mismatch, no error, no
// growth beyond the tolerance) and print its sample table and report. The
// full campaign is the same command with its defaults, 64 clients for 10
// minutes.
func TestSoakSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 6-second soak")
	}
	bin := t.TempDir()
	for _, pkg := range []string{"../ebsd", "."} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	cmd := exec.Command(filepath.Join(bin, "ebsd-soak"), "-ebsd", filepath.Join(bin, "ebsd"), "-d", "6s", "-sample", "1s", "-w", "8")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("ebsd-soak output:\n%s", out)
	if err != nil {
		t.Fatalf("ebsd-soak: %v", err)
	}
	for _, want := range []string{"rss_MiB", "goroutines", "fds", "PutSnapshotBlock", "GetSnapshotBlock",
		"ListChangedBlocks", "data mismatches: 0", "growth after warm-up", "\nPASS\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}
