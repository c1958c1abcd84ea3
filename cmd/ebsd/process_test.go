package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/credentials"
)

// ebsdBinary builds cmd/ebsd once per test binary.
var ebsdBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ebsd-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ebsd")
	// -buildvcs=auto overrides a GOFLAGS=-buildvcs=false, so that
	// --version shows the revision when git is there.
	out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is an ebsd started as a separate process.
type process struct {
	cmd      *exec.Cmd
	Endpoint string
	KeyID    string
	Secret   string
	Region   string
	// CredentialsFile is the file the banner names.
	CredentialsFile string
	stderr          *strings.Builder
	banner          strings.Builder // written before startProcess returns
}

var (
	endpointRE = regexp.MustCompile(`serving the EBS direct APIs at (\S+) \(region (\S+),`)
	// The banner names the credentials file; it shows the secret only on a
	// terminal, so tests read the keys from the file.
	credentialsFileRE = regexp.MustCompile(`(?:saved them in|Credentials are in) (.+?)[.:]$`)
	bannerEndRE       = regexp.MustCompile(`^  aws ebs start-snapshot `)
)

// startProcess runs ebsd with HOME=home and the given extra arguments, and
// waits until it prints its banner. The caller must stop it.
func startProcess(t *testing.T, home string, args ...string) *process {
	t.Helper()
	bin, err := ebsdBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			select {
			case <-found:
				continue // past the banner: Banner may be reading it
			default:
			}
			p.banner.WriteString(line + "\n")
			if m := endpointRE.FindStringSubmatch(line); m != nil {
				p.Endpoint, p.Region = m[1], m[2]
			}
			if m := credentialsFileRE.FindStringSubmatch(line); m != nil {
				p.CredentialsFile = m[1]
			}
			if bannerEndRE.MatchString(line) {
				close(found)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("ebsd printed no banner in 30 s; stderr:\n%s", p.stderr)
	}
	creds, err := credentials.Load(p.CredentialsFile)
	if err != nil {
		t.Fatalf("banner:\n%s\n%v", p.Banner(), err)
	}
	first := creds.Credentials()[0]
	p.KeyID, p.Secret = first.AccessKeyID, first.SecretAccessKey
	return p
}

// Banner returns what ebsd printed to stdout up to the end of its banner.
func (p *process) Banner() string { return p.banner.String() }

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	stopWithin(t, p, 30*time.Second)
}

// stopWithin sends SIGTERM and fails unless ebsd exits cleanly within d.
func stopWithin(t *testing.T, p *process, d time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ebsd exited with %v; stderr:\n%s", err, p.stderr)
		}
	case <-time.After(d):
		t.Fatalf("ebsd did not stop within %v of SIGTERM", d)
	}
}

// kill sends SIGKILL and waits.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
