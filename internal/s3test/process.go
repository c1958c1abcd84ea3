package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// startTimeout bounds how long a server may take to answer its readiness
// probe: seconds on an idle machine, more under a parallel test run.
const startTimeout = 60 * time.Second

// engine says how to run one S3-compatible server program over a
// temporary directory; minio.go and versitygw.go define one each.
type engine struct {
	name    string // Server.Engine, and the program's file name
	install string // the script that builds the program
	health  string // the path that answers 200 once the server serves
	// command returns the arguments and environment that make the program
	// serve s's credentials on addr, keeping its data under dir.
	command func(s *Server, addr, dir string) (args, env []string, err error)
}

// findBinary returns the path of e's program: on PATH, else in
// $(go env GOPATH)/bin, where e's install script puts it.
func (e *engine) findBinary() (string, error) {
	if p, err := exec.LookPath(e.name); err == nil {
		return p, nil
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.SplitList(gp)...)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.SplitList(strings.TrimSpace(string(out)))...)
	}
	for _, d := range dirs {
		p := filepath.Join(d, "bin", e.name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no %s binary on PATH or in $(go env GOPATH)/bin; run %s", e.name, e.install)
}

// start starts e's program on a free loopback port over a temporary
// directory, with fresh root credentials, and returns it with the
// function that stops it and removes the directory.
func (e *engine) start() (*Server, func(), error) {
	bin, err := e.findBinary()
	if err != nil {
		return nil, nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	s := &Server{Region: "us-east-1", AccessKey: "ebsdtest", SecretKey: hex.EncodeToString(secret), Engine: e.name}
	// A port found free can be taken before the server binds it: try again.
	var lastErr error
	for range 3 {
		stop, err := e.run(bin, s)
		if err == nil {
			return s, stop, nil
		}
		lastErr = err
	}
	return nil, nil, fmt.Errorf("start %s (%s): %w", e.name, bin, lastErr)
}

// run makes one attempt at starting bin for s, and sets s.Endpoint when
// it answers its readiness probe.
func (e *engine) run(bin string, s *Server) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "ebsd-"+e.name+"-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	args, env, err := e.command(s, addr, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	log, err := os.Create(filepath.Join(dir, e.name+".log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	// If the test binary dies without running Run's stop, the kernel
	// kills the server with it: no process outlives the tests.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	// exited is closed once the server has exited, waitErr then says how.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); log.Close(); close(exited) }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	endpoint := "http://" + addr
	if err := waitReady(e.name, endpoint+e.health, exited, &waitErr); err != nil {
		stop()
		return nil, err
	}
	s.Endpoint = endpoint
	return stop, nil
}

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls url, name's readiness probe, until it answers 200, the
// process exits, or startTimeout passes.
func waitReady(name, url string, exited <-chan struct{}, waitErr *error) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was ready: %v", name, *waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v", name, startTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
