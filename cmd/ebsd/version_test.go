package main_test

import (
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestVersion runs the built binary with --version and -version: one line
// with the program, the module version, the VCS revision of the checkout
// the test builds in (git's HEAD), and the Go version.
func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := ebsdBinary()
	if err != nil {
		t.Fatal(err)
	}
	revision := "revision unknown"
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		revision = "revision " + strings.TrimSpace(string(head))
	} else {
		t.Logf("no git checkout (%v): expecting %q", err, revision)
	}
	want := regexp.MustCompile(`^ebsd \S+ \(` + regexp.QuoteMeta(revision) + `(, modified)?(, [0-9TZ:-]+)?\) ` +
		regexp.QuoteMeta(runtime.Version()) + ` \w+/\w+\n$`)
	for _, arg := range []string{"--version", "-version"} {
		out, err := exec.CommandContext(withTimeout(t, 30*time.Second), bin, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("ebsd %s: %v\n%s", arg, err, out)
		}
		if !want.Match(out) {
			t.Errorf("ebsd %s printed %q, want a line matching %s", arg, out, want)
		}
	}
}
