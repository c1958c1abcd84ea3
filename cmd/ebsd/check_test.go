package main_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// runCommand runs the ebsd binary with args and HOME=home, and returns its
// stdout and stderr together and its exit code.
func runCommand(t *testing.T, home string, args ...string) (string, int) {
	t.Helper()
	bin, err := ebsdBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// TestCheckFindsDamage writes a snapshot, then runs ebsd gc, ebsd usage
// and ebsd check: refused beside a running server; clean on an intact store; and,
// after a byte of the block's stored copy is flipped, -read-data reports
// the block and exits 1.
func TestCheckFindsDamage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	home := t.TempDir()
	dataDir := filepath.Join(t.TempDir(), "ebsd")
	p := startProcess(t, home, "-data-dir", dataDir)
	c := ebstest.NewClient(p.Endpoint, ebscreds.Credential{AccessKeyID: p.KeyID, SecretAccessKey: p.Secret},
		&http.Client{Timeout: 30 * time.Second})
	putBlock(withTimeout(t, time.Minute), t, c)

	if out, code := runCommand(t, home, "check", "-data-dir", dataDir); code != 1 || !strings.Contains(out, "another ebsd") {
		t.Errorf("check beside a running server: exit %d, output:\n%s\nwant exit 1 saying another ebsd uses the directory", code, out)
	}
	p.stop(t)

	// A collection keeps the completed snapshot's block.
	out, code := runCommand(t, home, "gc", "-data-dir", dataDir)
	if code != 0 || !strings.Contains(out, "snapshots 1 (1 kept with their blocks)") || !strings.Contains(out, "1 live") {
		t.Fatalf("gc: exit %d, output:\n%s", code, out)
	}
	// One block written, one block stored, for the server's account.
	out, code = runCommand(t, home, "usage", "-data-dir", dataDir)
	if code != 0 || !regexp.MustCompile(`(?m)^\d{12} +512KiB +512KiB$`).MatchString(out) {
		t.Fatalf("usage: exit %d, output:\n%s", code, out)
	}
	out, code = runCommand(t, home, "check", "-read-data", "-data-dir", dataDir)
	if code != 0 || !strings.Contains(out, "no problems found") || !strings.Contains(out, "1 stored blocks read and verified") {
		t.Fatalf("check of an intact store: exit %d, output:\n%s", code, out)
	}

	// Flip one byte in the middle of the only block's stored data.
	packs, _ := filepath.Glob(filepath.Join(dataDir, "blocks", "packs", "*"))
	var pack string
	for _, f := range packs {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && st.Size() > ebstest.BlockSize {
			pack = f
		}
	}
	if pack == "" {
		t.Fatalf("no pack file with a block among %v", packs)
	}
	f, err := os.OpenFile(pack, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	b := []byte{0}
	off := st.Size() - ebstest.BlockSize/2
	f.ReadAt(b, off)
	b[0] ^= 0xff
	f.WriteAt(b, off)
	f.Close()

	out, code = runCommand(t, home, "check", "-read-data", "-data-dir", dataDir)
	if code != 1 || !strings.Contains(out, "PROBLEM snap-") || !strings.Contains(out, "damaged") {
		t.Fatalf("check -read-data of a damaged store: exit %d, output:\n%s", code, out)
	}
}
