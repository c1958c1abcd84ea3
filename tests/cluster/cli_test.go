package cluster_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestAWSCLIAcrossNodes drives one snapshot's life with the AWS CLI, each
// call to another of three nodes: start, put, complete, list, get, the EC2
// describe-snapshots and its waiter, tags, delete.
func TestAWSCLIAcrossNodes(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		skipOrFail(t, "aws (the AWS CLI) is not on PATH; scripts/test.sh installs it")
	}
	d := newDeployment(t)
	nodes := []*node{d.start(t, "n0"), d.start(t, "n1"), d.start(t, "n2")}
	work, home := t.TempDir(), t.TempDir()
	calls := 0
	run := func(args ...string) map[string]any {
		t.Helper()
		endpoint := nodes[calls%len(nodes)].Endpoint
		calls++
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, append(args, "--endpoint-url", endpoint, "--output", "json")...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+ebstest.Alice.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+ebstest.Alice.SecretAccessKey,
			"AWS_DEFAULT_REGION=us-east-1", "HOME="+home, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("aws %s (at %s): %v\n%s%s", strings.Join(args, " "), endpoint, err, out, stderr)
		}
		var v map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("aws %s printed %s: %v", strings.Join(args, " "), out, err)
			}
		}
		return v
	}

	start := run("ebs", "start-snapshot", "--volume-size", "1", "--description", "across nodes", "--encrypted")
	id, _ := start["SnapshotId"].(string)
	if !strings.HasPrefix(id, "snap-") {
		t.Fatalf("start-snapshot = %v", start)
	}
	block := make([]byte, 524288)
	copy(block, "hello from another node")
	if err := os.WriteFile(filepath.Join(work, "block.bin"), block, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(block)
	checksum := base64.StdEncoding.EncodeToString(sum[:])
	run("ebs", "put-snapshot-block", "--snapshot-id", id, "--block-index", "7",
		"--block-data", "block.bin", "--data-length", "524288", "--checksum", checksum, "--checksum-algorithm", "SHA256")
	run("ebs", "complete-snapshot", "--snapshot-id", id, "--changed-blocks-count", "1")
	run("ec2", "wait", "snapshot-completed", "--snapshot-ids", id)
	list := run("ebs", "list-snapshot-blocks", "--snapshot-id", id)
	blocks, _ := list["Blocks"].([]any)
	if len(blocks) != 1 {
		t.Fatalf("list-snapshot-blocks = %v", list)
	}
	tok := blocks[0].(map[string]any)["BlockToken"].(string)
	get := run("ebs", "get-snapshot-block", "--snapshot-id", id, "--block-index", "7", "--block-token="+tok, "out.bin")
	got, err := os.ReadFile(filepath.Join(work, "out.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(block) || get["Checksum"] != checksum {
		t.Fatalf("get-snapshot-block returned %d bytes, checksum %v", len(got), get["Checksum"])
	}
	run("ec2", "create-tags", "--resources", id, "--tags", "Key=team,Value=storage")
	desc := run("ec2", "describe-snapshots", "--owner-ids", "self", "--filters", "Name=tag:team,Values=storage")
	snaps, _ := desc["Snapshots"].([]any)
	if len(snaps) != 1 || snaps[0].(map[string]any)["SnapshotId"] != id || snaps[0].(map[string]any)["Encrypted"] != true {
		t.Fatalf("describe-snapshots = %v", desc)
	}
	run("ec2", "delete-snapshot", "--snapshot-id", id)
	if desc := run("ec2", "describe-snapshots", "--owner-ids", "self"); len(desc["Snapshots"].([]any)) != 0 {
		t.Fatalf("describe-snapshots after delete-snapshot = %v", desc)
	}
}
