package main_test

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestJavaScriptSDK drives ebsd with the official AWS SDK for JavaScript v3
// (tests/sdk-js), whose wire habits differ from Go's and botocore's: a
// signed hex payload hash on PutSnapshotBlock, x-amz-content-sha256 on
// every request, lowercase header names.
func TestJavaScriptSDK(t *testing.T) {
	node, dir := jsSDK(t)
	p := startProcess(t, t.TempDir())
	run := exec.CommandContext(withTimeout(t, 2*time.Minute), node, "sdk_test.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "EBSD_ENDPOINT="+p.Endpoint, "AWS_ACCESS_KEY_ID="+p.KeyID,
		"AWS_SECRET_ACCESS_KEY="+p.Secret, "AWS_REGION="+p.Region, "NODE_NO_WARNINGS=1")
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("node sdk_test.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	p.stop(t)
}

// TestJavaScriptSDKEC2 drives the EC2 Query API and STS with
// @aws-sdk/client-ec2 and @aws-sdk/client-sts (tests/sdk-js/ec2_test.mjs):
// every operation ebsd serves, filters, both paginators, the
// SnapshotCompleted waiter and the documented errors, as the JS SDK
// encodes requests and parses XML.
func TestJavaScriptSDKEC2(t *testing.T) {
	node, dir := jsSDK(t)
	p := startProcess(t, t.TempDir())
	runSDKScript(t, p, dir, node, "ec2_test.mjs")
	p.stop(t)
}
