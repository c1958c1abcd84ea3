package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a throwaway PostgreSQL cluster in a temporary directory.
type Cluster struct {
	binDir string
	dir    string // holds data/, the unix sockets and postgres.log
	port   int
	cred   *syscall.Credential // the postgres user when we are root, else nil

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// How long the server may take to start, and to stop before it is killed.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// newCluster runs initdb in a new temporary directory and starts the
// server.
func newCluster() (*Cluster, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, errNotInstalled{err}
	}
	removeStale()
	c := &Cluster{binDir: binDir}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		if c.cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	if c.dir, err = os.MkdirTemp("", "ebsd-pgtest-"); err != nil {
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			c.remove()
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(binDir, "initdb"), "-D", c.dataDir(), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		c.remove()
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			c.remove()
			return nil, err
		}
		err = c.Start()
		if err == nil {
			return c, nil
		}
		// Another process may have taken the port between freePort and
		// the server's bind.
		if attempt == 2 || !strings.Contains(err.Error(), "could not bind") && !strings.Contains(err.Error(), "could not create any TCP/IP sockets") {
			c.remove()
			return nil, err
		}
	}
}

// postgresUser returns the credential of the postgres system user.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and PostgreSQL refuses root: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// Port is the server's loopback TCP port.
func (c *Cluster) Port() int { return c.port }

// AdminDSN is the DSN of the cluster's postgres database as its superuser.
func (c *Cluster) AdminDSN() string { return c.DSN("postgres") }

// DSN is the DSN of database name on the cluster.
func (c *Cluster) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Start starts the server (again) and waits until it accepts connections.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return errors.New("pgtest: cluster already running")
	}
	logFile, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := []string{"-D", c.dataDir(), "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "shared_buffers=64MB"}
	if os.Getenv(EnvFsync) == "" {
		// A test database need not survive a power cut.
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: c.cred,
		// SIGQUIT (immediate shutdown) if the test binary dies without
		// stopping the server, so that no postgres outlives go test.
		Pdeathsig: syscall.SIGQUIT,
		Setpgid:   true,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	if err := waitReady(c.AdminDSN(), exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("pgtest: postgres on port %d: %w\n%s", c.port, err, c.logTail())
	}
	c.cmd, c.exited = cmd, exited
	return nil
}

// waitReady waits until dsn accepts a connection, the server exits, or
// startTimeout passes.
func waitReady(dsn string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-exited:
			return errors.New("the server exited")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", startTimeout, err)
		}
	}
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and
// waits for it, killing it after stopTimeout. Data stays for Start.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.exited
		err = fmt.Errorf("pgtest: postgres did not stop within %v; killed", stopTimeout)
	}
	c.cmd, c.exited = nil, nil
	return err
}

// Restart stops the server and starts it again on the same port.
func (c *Cluster) Restart() error {
	if err := c.Stop(); err != nil {
		return err
	}
	return c.Start()
}

// Close stops the server and removes its directory.
func (c *Cluster) Close() error {
	err := c.Stop()
	c.remove()
	return err
}

func (c *Cluster) remove() { _ = os.RemoveAll(c.dir) }

// logTail returns the end of the server's log, for an error message.
func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.logPath())
	if len(b) > 4096 {
		b = b[len(b)-4096:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// errNotInstalled is why no cluster can be started here.
type errNotInstalled struct{ err error }

func (e errNotInstalled) Error() string { return e.err.Error() }
func (e errNotInstalled) Unwrap() error { return e.err }
