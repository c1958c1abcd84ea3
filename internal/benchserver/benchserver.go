// Package benchserver starts an ebsd binary as a separate process for the
// benchmark harnesses (cmd/ebsd-bench, cmd/ebs-clibench, cmd/ebsd-gcbench),
// on a free loopback port with credentials of its own, and reads its peak
// RSS.
package benchserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The credentials every benchmark server accepts.
const (
	KeyID  = "AKIABENCH00000000001"
	Secret = "bench-secret-000000000000000000000000000"
)

// Server is an ebsd process.
type Server struct {
	Endpoint string // e.g. http://127.0.0.1:40123
	cmd      *exec.Cmd
}

var bannerRE = regexp.MustCompile(`serving the EBS direct APIs at (\S+) `)

// Options change how StartWith runs ebsd.
type Options struct {
	// Args are passed after the defaults (-addr, -data-dir, -log-level
	// warn), so that they add flags or override those.
	Args []string
	// Stderr receives the server's logs; nil means os.Stderr.
	Stderr io.Writer
}

// Start runs the ebsd binary bin with its data in dir and waits until it
// serves. Its logs (warnings and errors only) go to stderr.
func Start(ctx context.Context, bin, dir string) (*Server, error) {
	return StartWith(ctx, bin, dir, Options{})
}

// StartWith is Start with extra flags and another destination for the logs.
func StartWith(ctx context.Context, bin, dir string, o Options) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	body := fmt.Sprintf(`{"version":1,"credentials":[{"access_key_id":%q,"secret_access_key":%q,"account_id":"123456789012"}]}`, KeyID, Secret)
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), []byte(body), 0o600); err != nil {
		return nil, err
	}
	args := append([]string{"-addr", "127.0.0.1:0", "-data-dir", dir, "-log-level", "warn"}, o.Args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = os.Stderr
	if o.Stderr != nil {
		cmd.Stderr = o.Stderr
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{cmd: cmd}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := bannerRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case s.Endpoint = <-found:
		return s, nil
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("%s printed no banner within 30 s", bin)
	}
}

// PeakRSS returns the server's high-water resident set size in bytes.
func (s *Server) PeakRSS() (int64, error) {
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

// Pid returns the server's process ID, for reading its /proc entries.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM and waits for the process to exit.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}
