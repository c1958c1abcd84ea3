package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestJSSDKAcrossNodes runs tests/sdk-js/cluster_test.mjs against three
// nodes: the official AWS SDK for JavaScript v3, one client per node, sends
// each step of three snapshots' lives (parent, incremental child, encrypted)
// to another node: puts round-robin, pages of ListSnapshotBlocks and
// ListChangedBlocks each from another node than the page before, block
// tokens read on a node that did not mint them, EC2 describe and delete.
func TestJSSDKAcrossNodes(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err == nil {
		_, err = exec.LookPath("npm")
	}
	if err != nil {
		skipOrFail(t, "node and npm are needed for the JavaScript SDK tests: %v", err)
	}
	d := newDeployment(t)
	// npm installs while the cluster starts; a test that stops early waits
	// for it before its directory is removed.
	dir := t.TempDir()
	var installErr error
	installed := make(chan struct{})
	go func() { defer close(installed); installErr = installJS(dir) }()
	t.Cleanup(func() { <-installed })
	began := time.Now()
	nodes := []*node{d.start(t, "n0"), d.start(t, "n1"), d.start(t, "n2")}
	up := time.Since(began)
	if <-installed; installErr != nil {
		skipOrFail(t, "the JavaScript SDK's modules could not be installed: %v", installErr)
	}
	t.Logf("3 nodes up after %v, npm ci done after %v", up.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	endpoints := make([]string, len(nodes))
	for i, n := range nodes {
		endpoints[i] = n.Endpoint
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, nodeBin, "cluster_test.mjs")
	run.Dir = dir
	run.Env = append(withoutAWS(os.Environ()), "EBSD_ENDPOINTS="+strings.Join(endpoints, ","),
		"AWS_ACCESS_KEY_ID="+ebstest.Alice.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+ebstest.Alice.SecretAccessKey,
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "NODE_NO_WARNINGS=1")
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("node cluster_test.mjs against %v: %v\n%s", endpoints, err, out)
	}
	t.Logf("%s", out)
}

// installJS copies the script and tests/sdk-js's package files into dir and
// runs npm ci there. A directory of its own, because cmd/ebsd's tests run
// npm ci in tests/sdk-js, which deletes node_modules first, and go test runs
// that package's tests alongside these.
func installJS(dir string) error {
	for _, name := range []string{"package.json", "package-lock.json", "cluster_test.mjs"} {
		b, err := os.ReadFile(filepath.Join("..", "sdk-js", name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return nil
}

// withoutAWS drops the AWS_* variables of env, so that the caller's
// profile, region or session token cannot reach the SDK.
func withoutAWS(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}
