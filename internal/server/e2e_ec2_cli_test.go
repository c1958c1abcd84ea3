package server_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestEC2AWSCLI drives the EC2 and STS APIs with the unmodified AWS CLI,
// as a user would: its describe-snapshots adds MaxResults=1000 and follows
// NextToken, its waiter polls DescribeSnapshots, and an error exits
// non-zero with AWS's sentence.
func TestEC2AWSCLI(t *testing.T) {
	cli := lookTool(t, "aws", "")
	s := ebstest.Start(t, ebstest.Options{})
	env := clientEnv(s, ebstest.Alice)
	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.CommandContext(ctx, cli, append(args, "--endpoint-url", s.URL, "--output", "json")...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var v map[string]any
		if err == nil && len(strings.TrimSpace(string(out))) > 0 {
			if jerr := json.Unmarshal(out, &v); jerr != nil {
				t.Fatalf("aws %s printed %s: %v", strings.Join(args, " "), out, jerr)
			}
		}
		return v, stderr.String(), err
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		v, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return v
	}

	if id := must("sts", "get-caller-identity"); id["Account"] != ebstest.Alice.AccountID || id["Arn"] != "arn:aws:iam::"+ebstest.Alice.AccountID+":root" {
		t.Fatalf("get-caller-identity = %v", id)
	}
	// The snapshot is made through EBS direct; the waiter and the other
	// actions are botocore's as in TestEC2Boto3, so the CLI runs only what
	// is its own: its options, MaxResults injection and error output.
	id := completedSnapshot(t, s.Client(ebstest.Alice), &ebs.StartSnapshotInput{}, map[int32]byte{0: 3})
	must("ec2", "create-tags", "--resources", id, "--tags", "Key=env,Value=a b", "Key=tmp,Value=")
	list := must("ec2", "describe-snapshots", "--owner-ids", "self")
	snaps, _ := list["Snapshots"].([]any)
	if len(snaps) != 1 || snaps[0].(map[string]any)["SnapshotId"] != id || snaps[0].(map[string]any)["State"] != "completed" ||
		len(snaps[0].(map[string]any)["Tags"].([]any)) != 2 {
		t.Fatalf("describe-snapshots = %v", list)
	}
	cp := must("ec2", "copy-snapshot", "--source-region", "us-east-1", "--source-snapshot-id", id, "--description", "copy")
	copyID, _ := cp["SnapshotId"].(string)
	if !strings.HasPrefix(copyID, "snap-") {
		t.Fatalf("copy-snapshot = %v", cp)
	}
	_, stderr, err := run("ec2", "delete-snapshot", "--snapshot-id", id, "--dry-run")
	if err == nil || !strings.Contains(stderr, "An error occurred (DryRunOperation) when calling the DeleteSnapshot operation: Request would have succeeded, but DryRun flag is set.") {
		t.Fatalf("delete-snapshot --dry-run: %v %s", err, stderr)
	}
	must("ec2", "delete-snapshot", "--snapshot-id", id)
	_, stderr, err = run("ec2", "delete-snapshot", "--snapshot-id", id)
	if err == nil || !strings.Contains(stderr, "An error occurred (InvalidSnapshot.NotFound) when calling the DeleteSnapshot operation: The snapshot '"+id+"' does not exist.") {
		t.Fatalf("delete-snapshot of a deleted snapshot: %v %s", err, stderr)
	}
	d, err := ec2Client(s, ebstest.Alice).DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{copyID}})
	if err != nil || aws.ToString(d.Snapshots[0].Description) != "copy" {
		t.Fatalf("the copy: %v %+v", err, d)
	}
}
