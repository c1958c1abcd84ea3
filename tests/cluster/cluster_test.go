package cluster_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
)

// TestMain stops the PostgreSQL cluster and MinIO once every test ran.
func TestMain(m *testing.M) { os.Exit(pgtest.Finish(s3test.Run(m))) }

// ebsdBinary builds cmd/ebsd once per test binary.
var ebsdBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ebsd-cluster-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ebsd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/ebsd/ebsd/cmd/ebsd").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

var endpointRE = regexp.MustCompile(`serving the EBS direct APIs at (\S+) `)

// deployment is what every node of a test cluster shares: the database,
// the bucket, and the credentials file clients sign with.
type deployment struct {
	dsn, blocks, s3Endpoint string
	s3                      *s3test.Server
	credsFile               string
}

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	if testing.Short() {
		t.Skip("starts PostgreSQL, MinIO and ebsd processes")
	}
	d := &deployment{dsn: pgtest.Start(t)}
	d.s3 = s3test.Start(t)
	d.blocks = "s3://" + d.s3.NewBucket(t) + "/ebsd"
	d.s3Endpoint = d.s3.Endpoint
	d.credsFile = filepath.Join(t.TempDir(), "credentials.json")
	body := fmt.Sprintf(`{"version":1,"credentials":[{"access_key_id":%q,"secret_access_key":%q,"account_id":%q}]}`,
		ebstest.Alice.AccessKeyID, ebstest.Alice.SecretAccessKey, ebstest.Alice.AccountID)
	if err := os.WriteFile(d.credsFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// node is one ebsd process of a deployment.
type node struct {
	name     string
	cmd      *exec.Cmd
	Endpoint string
	stderr   *strings.Builder
	done     chan struct{}
}

// start runs a node (see command), with args after the deployment's
// flags and its own.
func (d *deployment) start(t *testing.T, name string, args ...string) *node {
	t.Helper()
	cmd := d.command(t, append([]string{"-addr", "127.0.0.1:0", "-node", name, "-access-log=false"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, cmd: cmd, stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: n.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(n.done) }()
	t.Cleanup(func() { n.kill() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := endpointRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case n.Endpoint = <-found:
	case <-n.done:
		t.Fatalf("node %s exited before serving; stderr:\n%s", name, n.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s printed no banner in 60 s; stderr:\n%s", name, n.stderr)
	}
	return n
}

// command returns an ebsd command with args after the deployment's flags
// (-meta, -blocks, -s3-*, -credentials), in a home of its own with the
// object store's keys in ~/.aws/credentials, as the SDK's default chain
// reads them, and its own data directory.
func (d *deployment) command(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := ebsdBinary()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	aws := filepath.Join(home, ".aws")
	if err := os.MkdirAll(aws, 0o700); err != nil {
		t.Fatal(err)
	}
	awsCreds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", d.s3.AccessKey, d.s3.SecretKey)
	if err := os.WriteFile(filepath.Join(aws, "credentials"), []byte(awsCreds), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := []string{}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[:1], args[1:] // a subcommand: ebsd gc, ebsd check
	}
	cmd := exec.Command(bin, append(append(sub, "-data-dir", filepath.Join(home, "data"),
		"-credentials", d.credsFile, "-meta", d.dsn, "-blocks", d.blocks,
		"-s3-endpoint", d.s3Endpoint, "-s3-path-style", "-s3-region", d.s3.Region), args...)...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	return cmd
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	<-n.done
}

// lockedWriter serializes writes to w, which the process's stderr copier
// and a failing test's report may share.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
