package main_test

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// throttleQuotaFile is the -throttle-config of the throttled SDK tests:
// quotas far below what their 4 workers ask for, so that every SDK meets
// both throttling errors and must retry to finish.
const throttleQuotaFile = `{"version": 1, "quotas": {
  "PutSnapshotBlock":   {"snapshot": {"rate": 5, "burst": 5}},
  "GetSnapshotBlock":   {"snapshot": {"rate": 5, "burst": 5}},
  "ListSnapshotBlocks": {"account":  {"rate": 2, "burst": 1}}}}`

// startThrottledProcess starts ebsd with -throttle aws and the quota file.
func startThrottledProcess(t *testing.T) *process {
	t.Helper()
	home := t.TempDir()
	quotas := filepath.Join(home, "quotas.json")
	if err := os.WriteFile(quotas, []byte(throttleQuotaFile), 0o600); err != nil {
		t.Fatal(err)
	}
	return startProcess(t, home, "-throttle", "aws", "-throttle-config", quotas)
}

// runSDKScript runs a script of tests/ against p and logs its output.
func runSDKScript(t *testing.T, p *process, dir string, name string, args ...string) {
	t.Helper()
	run := exec.CommandContext(withTimeout(t, 2*time.Minute), name, args...)
	run.Dir = dir
	run.Env = append(os.Environ(), "EBSD_ENDPOINT="+p.Endpoint, "AWS_ACCESS_KEY_ID="+p.KeyID,
		"AWS_SECRET_ACCESS_KEY="+p.Secret, "AWS_REGION="+p.Region, "NODE_NO_WARNINGS=1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	t.Logf("%s", out)
}

// checkThrottled checks, from /metrics, that the server refused requests
// of each quota the scripts exercise: the scripts finished only by
// retrying them.
func checkThrottled(t *testing.T, p *process) {
	t.Helper()
	resp, err := http.Get(p.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "ebsd_throttled_requests_total{"); ok {
			labels, v, _ := strings.Cut(rest, "} ")
			n, _ := strconv.Atoi(v)
			got[labels] = n
		}
	}
	for _, want := range []string{
		`operation="PutSnapshotBlock",scope="snapshot"`,
		`operation="GetSnapshotBlock",scope="snapshot"`,
		`operation="ListSnapshotBlocks",scope="account"`,
	} {
		if got[want] == 0 {
			t.Errorf("no request was throttled with %s; the scripts proved nothing there (throttled: %v)", want, got)
		}
	}
	t.Logf("throttled: %v", got)
}

// TestThrottleBoto3 shows that boto3 in botocore's legacy retry mode, the
// default, retries ebsd's throttling errors and finishes
// (tests/sdk-python/throttle.py).
func TestThrottleBoto3(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(python, "-c", "import boto3").Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with boto3 is needed for the boto3 test: %v", err)
		}
		t.Skipf("python3 with boto3 is not available: %v", err)
	}
	dir, err := filepath.Abs("../../tests/sdk-python")
	if err != nil {
		t.Fatal(err)
	}
	p := startThrottledProcess(t)
	runSDKScript(t, p, dir, python, "throttle.py")
	checkThrottled(t, p)
	p.stop(t)
}

// TestThrottleJavaScriptSDK shows that the JS SDK v3's standard retry
// strategy retries ebsd's throttling errors and finishes
// (tests/sdk-js/throttle_test.mjs).
func TestThrottleJavaScriptSDK(t *testing.T) {
	node, dir := jsSDK(t)
	p := startThrottledProcess(t)
	runSDKScript(t, p, dir, node, "throttle_test.mjs")
	checkThrottled(t, p)
	p.stop(t)
}
