package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is an ebsd process started by the benchmark.
type server struct {
	cmd             *exec.Cmd
	endpoint        string
	keyID, secret   string
	credentialsFile string
}

var bannerRE = regexp.MustCompile(`serving the EBS direct APIs at (\S+) `)

const (
	benchKeyID  = "AKIABENCH00000000001"
	benchSecret = "bench-secret-000000000000000000000000000"
)

// startServer starts ebsd on a free loopback port with its own credentials.
func startServer(ctx context.Context, bin, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	creds := filepath.Join(dir, "credentials.json")
	body := fmt.Sprintf(`{"version":1,"credentials":[{"access_key_id":%q,"secret_access_key":%q,"account_id":"123456789012"}]}`, benchKeyID, benchSecret)
	if err := os.WriteFile(creds, []byte(body), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-data-dir", dir, "-log-level", "warn")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, keyID: benchKeyID, secret: benchSecret, credentialsFile: creds}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := bannerRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case s.endpoint = <-found:
		return s, nil
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s printed no banner within 30 s", bin)
	}
}

// peakRSS reads the server's high-water resident set size.
func (s *server) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", s.cmd.Process.Pid)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}
