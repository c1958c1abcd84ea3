package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBannerOutsideTerminal starts ebsd with stdout on a pipe, as under
// systemd, twice: the banner must never print the secret, and every line
// it tells the operator to paste must run in sh and export the keys of
// the credentials file, on the first start and on later ones.
func TestBannerOutsideTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	home := t.TempDir()
	dataDir := filepath.Join(t.TempDir(), "data dir") // a space, to test quoting
	for _, start := range []string{"first", "later"} {
		p := startProcess(t, home, "-data-dir", dataDir, "-region", "eu-west-3")
		banner := p.Banner()
		if strings.Contains(banner, p.Secret) {
			t.Errorf("%s start: the banner shows the secret on a pipe:\n%s", start, banner)
		}
		if !strings.Contains(banner, filepath.Join(dataDir, "credentials.json")) {
			t.Errorf("%s start: the banner does not name the credentials file:\n%s", start, banner)
		}
		var paste []string
		for _, line := range strings.Split(banner, "\n") {
			if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "  aws ") {
				paste = append(paste, strings.TrimSpace(line))
			}
		}
		if len(paste) == 0 {
			t.Fatalf("%s start: no line to paste in the banner:\n%s", start, banner)
		}
		script := strings.Join(paste, "\n") + "\n" + `printf '%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_DEFAULT_REGION"`
		cmd := exec.CommandContext(withTimeout(t, 30*time.Second), "sh", "-e", "-c", script)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")} // not ebsd's: the banner must say where
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s start: pasting\n%s\nfailed: %v", start, script, err)
		}
		if got, want := string(out), p.KeyID+"\n"+p.Secret+"\neu-west-3\n"; got != want {
			t.Errorf("%s start: pasting\n%s\nexported %q, want %q", start, script, got, want)
		}
		p.stop(t)
	}
}
