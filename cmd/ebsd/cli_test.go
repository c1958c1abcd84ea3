package main_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestREADMEAWSCLISession runs the README's worked AWS CLI session against
// a freshly started ebsd with no configuration, as a newcomer would.
func TestREADMEAWSCLISession(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the AWS CLI is not installed; scripts/test.sh installs it")
		}
		t.Skip("aws (the AWS CLI) is not on PATH")
	}
	home := t.TempDir()
	p := startProcess(t, home)
	if _, err := os.Stat(filepath.Join(home, ".local/share/ebsd/credentials.json")); err != nil {
		t.Fatalf("no credentials file in the default data directory: %v", err)
	}
	work := t.TempDir()
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(withTimeout(t, time.Minute), awsCLI, append(args, "--endpoint-url", p.Endpoint, "--output", "json")...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+p.KeyID, "AWS_SECRET_ACCESS_KEY="+p.Secret,
			"AWS_DEFAULT_REGION="+p.Region, "HOME="+home, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		var v map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("aws %s printed %s: %v", strings.Join(args, " "), out, err)
			}
		}
		return v
	}

	start := run("ebs", "start-snapshot", "--volume-size", "1", "--description", "first snapshot")
	id, _ := start["SnapshotId"].(string)
	if !strings.HasPrefix(id, "snap-") || start["Status"] != "pending" {
		t.Fatalf("start-snapshot = %v", start)
	}
	block := make([]byte, 524288)
	copy(block, "hello, ebsd")
	if err := os.WriteFile(filepath.Join(work, "block.bin"), block, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(block)
	checksum := base64.StdEncoding.EncodeToString(sum[:])
	put := run("ebs", "put-snapshot-block", "--snapshot-id", id, "--block-index", "0",
		"--block-data", "block.bin", "--data-length", "524288", "--checksum", checksum, "--checksum-algorithm", "SHA256")
	if put["Checksum"] != checksum {
		t.Fatalf("put-snapshot-block = %v", put)
	}
	run("ebs", "complete-snapshot", "--snapshot-id", id, "--changed-blocks-count", "1")
	done := run("ebs", "complete-snapshot", "--snapshot-id", id, "--changed-blocks-count", "1")
	if done["Status"] != "completed" {
		t.Fatalf("complete-snapshot = %v", done)
	}
	list := run("ebs", "list-snapshot-blocks", "--snapshot-id", id)
	blocks, _ := list["Blocks"].([]any)
	if len(blocks) != 1 {
		t.Fatalf("list-snapshot-blocks = %v", list)
	}
	tok := blocks[0].(map[string]any)["BlockToken"].(string)
	get := run("ebs", "get-snapshot-block", "--snapshot-id", id, "--block-index", "0", "--block-token="+tok, "out.bin")
	got, err := os.ReadFile(filepath.Join(work, "out.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(block) || get["Checksum"] != checksum {
		t.Fatalf("get-snapshot-block returned %d bytes, checksum %v", len(got), get["Checksum"])
	}
	p.stop(t)
}
