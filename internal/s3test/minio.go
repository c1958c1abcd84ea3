package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// startTimeout bounds how long MinIO may take to answer its readiness
// probe: seconds on an idle machine, more under a parallel test run.
const startTimeout = 60 * time.Second

// findMinIO returns the path of the minio binary: on PATH, else in
// $(go env GOPATH)/bin, where scripts/install-minio.sh puts it.
func findMinIO() (string, error) {
	if p, err := exec.LookPath("minio"); err == nil {
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
		p := filepath.Join(d, "bin", "minio")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("no minio binary on PATH or in $(go env GOPATH)/bin; run scripts/install-minio.sh (or set " + EnvServer + ")")
}

// startMinIO starts MinIO on a free loopback port over a temporary
// directory, and returns it with the function that stops it and removes
// the directory.
func startMinIO() (*Server, func(), error) {
	bin, err := findMinIO()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "ebsd-minio-")
	if err != nil {
		return nil, nil, fmt.Errorf("start minio: %w", err)
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	s := &Server{Region: "us-east-1", AccessKey: "ebsdtest", SecretKey: hex.EncodeToString(secret), Engine: "minio"}
	// A port found free can be taken before MinIO binds it: try again.
	var lastErr error
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, fmt.Errorf("start minio: %w", err)
		}
		console, err := freeAddr()
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, fmt.Errorf("start minio: %w", err)
		}
		cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", console, filepath.Join(dir, "data"))
		cmd.Env = append(os.Environ(),
			"MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
		log, err := os.Create(filepath.Join(dir, "minio.log"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, fmt.Errorf("start minio: %w", err)
		}
		cmd.Stdout, cmd.Stderr = log, log
		// If the test binary dies without running Main's stop, the kernel
		// kills MinIO with it: no process outlives the tests.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			log.Close()
			os.RemoveAll(dir)
			return nil, nil, fmt.Errorf("start minio: %w", err)
		}
		// exited is closed once MinIO has exited, waitErr then says how.
		exited := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); log.Close(); close(exited) }()
		stop := func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
			os.RemoveAll(dir)
		}
		s.Endpoint = "http://" + addr
		if lastErr = waitReady(s.Endpoint, exited, &waitErr); lastErr == nil {
			return s, stop, nil
		}
		stop()
		if dir, err = os.MkdirTemp("", "ebsd-minio-"); err != nil {
			return nil, nil, fmt.Errorf("start minio: %w", err)
		}
	}
	os.RemoveAll(dir)
	return nil, nil, fmt.Errorf("start minio (%s): %w", bin, lastErr)
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

// waitReady polls MinIO's readiness probe until it answers 200, the
// process exits, or startTimeout passes.
func waitReady(endpoint string, exited <-chan struct{}, waitErr *error) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/minio/health/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("minio exited before it was ready: %v", *waitErr)
		case <-ctx.Done():
			return fmt.Errorf("minio not ready after %v", startTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
