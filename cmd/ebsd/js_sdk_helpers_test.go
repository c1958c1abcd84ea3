package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// jsSDK returns node and tests/sdk-js with its packages installed, or
// skips the test where node is missing (it fails in CI instead).
func jsSDK(t *testing.T) (node, dir string) {
	t.Helper()
	node, nerr := exec.LookPath("node")
	_, perr := exec.LookPath("npm")
	if nerr != nil || perr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node and npm are needed for the JavaScript SDK tests")
		}
		t.Skip("node or npm is not on PATH")
	}
	dir, err := npmInstall()
	if err != nil {
		t.Fatal(err)
	}
	return node, dir
}

// npmInstall runs npm ci in tests/sdk-js once per test binary, like
// ebsdBinary builds ebsd once: it takes seconds.
var npmInstall = sync.OnceValues(func() (string, error) {
	dir, err := filepath.Abs("../../tests/sdk-js")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--silent")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return dir, nil
})
