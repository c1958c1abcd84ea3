package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGCBenchSmoke builds ebsd and ebsd-gcbench and runs the benchmark at a
// toy size (16 MiB of fill in 2 MiB packs, a collection 3 s after the
// server starts): the collection must be found and its compaction
// reported, with U measured during it, the upload table and the ratio. Its numbers mean nothing
// at this size; the benchmark is the same command at -fill 10GiB. U has
// rounds enough to outlast a compaction paced by -gc-compact-rate while
// it runs.
func TestGCBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts ebsd")
	}
	bin := t.TempDir()
	for _, pkg := range []string{"../ebsd", "."} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	cmd := exec.Command(filepath.Join(bin, "ebsd-gcbench"), "-ebsd", filepath.Join(bin, "ebsd"),
		"-fill", "16MiB", "-snapshots", "2", "-blocks", "64", "-workers", "4", "-rounds", "32",
		"-gc-delay", "3s", "-pack-size", "2MiB", "-min-live", "0.9", "-dir", t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("ebsd-gcbench output:\n%s", out)
	if err != nil {
		t.Fatalf("ebsd-gcbench: %v", err)
	}
	for _, want := range []string{
		"fill: 32 blocks", "deleted 1 of 2 snapshots",
		"collection (started 3s after the server",
		"swept 16 ", "packs compacted", "the rest",
		"before the collection", "during the collection", "after the collection",
		"ratio during / before:",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	for _, bad := range []string{" 0 packs compacted", "U covered only", "NaN"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("the output has %q", bad)
		}
	}
}
