package ec2api_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/ec2api"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// python returns python3 with boto3, or skips (fails under CI).
func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(p, "-c", "import boto3").Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with boto3 is needed: %v", err)
		}
		t.Skipf("python3 with boto3 is not available: %v", err)
	}
	return p
}

// clientEnv is the environment of an SDK or CLI run against url as Alice,
// with no configuration file of the machine's.
func clientEnv(url string) []string {
	return append(os.Environ(), "EBSD_URL="+url, "AWS_ACCESS_KEY_ID="+aliceKey, "AWS_SECRET_ACCESS_KEY="+aliceSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_RETRY_MODE=legacy", "AWS_MAX_ATTEMPTS=1")
}

// botoWire drives every action through botocore's own serializer and
// parsers: quote_plus encoding, its paginator and waiter, its
// CopySnapshot presigning, and its parsing of EC2 and STS errors.
const botoWire = `
import json, os, boto3, botocore
from botocore.config import Config
url = os.environ["EBSD_URL"]
cfg = Config(retries={"max_attempts": 1, "mode": "legacy"})
ec2 = boto3.client("ec2", endpoint_url=url, config=cfg)
sts = boto3.client("sts", endpoint_url=url, config=cfg)
out = {}
def err(f, **kw):
    try:
        f(**kw)
    except botocore.exceptions.ClientError as e:
        r = e.response
        return [r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"], bool(r["ResponseMetadata"].get("RequestId"))]
    return None
out["identity"] = {k: v for k, v in sts.get_caller_identity().items() if k != "ResponseMetadata"}
out["regions"] = ec2.describe_regions()["Regions"]
pages = ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=[{"Name": "tag:k", "Values": ["a b*", "x?"]}], PaginationConfig={"PageSize": 5})
out["pages"] = [[s["SnapshotId"] for s in p["Snapshots"]] for p in pages]
snap = ec2.describe_snapshots(SnapshotIds=["snap-0000000000000a001"])["Snapshots"][0]
out["snapshot"] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in snap.items()}
ec2.get_waiter("snapshot_completed").wait(SnapshotIds=["snap-0000000000000a002"], WaiterConfig={"Delay": 1, "MaxAttempts": 20})
out["waited"] = True
out["notfound"] = err(ec2.delete_snapshot, SnapshotId="snap-0000000000000a0ff")
out["dryrun"] = err(ec2.delete_snapshot, SnapshotId="snap-0000000000000a001", DryRun=True)
out["badtoken"] = err(ec2.describe_snapshots, MaxResults=5, NextToken="nope")
out["stsbad"] = err(boto3.client("sts", endpoint_url=url, config=cfg, aws_secret_access_key="wrong", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"]).get_caller_identity)
cp = ec2.copy_snapshot(SourceRegion="us-east-1", SourceSnapshotId="snap-0000000000000a001", Description="copy",
    TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "c", "Value": "d"}]}])
out["copy"] = {"id": cp["SnapshotId"], "tags": cp.get("Tags")}
ec2.create_tags(Resources=["snap-0000000000000a001"], Tags=[{"Key": "e", "Value": ""}, {"Key": "f", "Value": "g"}])
ec2.delete_tags(Resources=["snap-0000000000000a001"], Tags=[{"Key": "e", "Value": ""}, {"Key": "f"}])
out["tags"] = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": ["snap-0000000000000a001"]}])["Tags"]
print(json.dumps(out))
`

// TestBotocoreWire runs botoWire against a fake service.
func TestBotocoreWire(t *testing.T) {
	py := python(t)
	s := startServer(t, ec2api.Options{})
	for i := 1; i <= 12; i++ {
		v := "a b" + strings.Repeat("z", i)
		if i%2 == 0 {
			v = "x" + string(rune('0'+i%10))
		}
		s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(i), Status: ebs.StatusCompleted, Progress: "100%", StartTime: t0,
			CompleteTime: t1, VolumeSize: 1, Description: "d & e", Tags: []ebs.Tag{{Key: "k", Value: v}}, FullSizeBytes: 524288})
	}
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(13), Status: ebs.StatusCompleted, StartTime: t0, Tags: []ebs.Tag{{Key: "k", Value: "no"}}})
	s.fake.mu.Lock()
	s.fake.snaps[aliceAccount][1].Status = ebs.StatusPending
	s.fake.mu.Unlock()
	go func() {
		time.Sleep(500 * time.Millisecond)
		s.fake.mu.Lock()
		s.fake.snaps[aliceAccount][1].Status = ebs.StatusCompleted
		s.fake.mu.Unlock()
	}()
	cmd := exec.CommandContext(ctx, py, "-c", botoWire)
	cmd.Env = clientEnv(s.URL)
	outb, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("boto3: %v\n%s", err, stderr)
	}
	var out struct {
		Identity map[string]string
		Regions  []map[string]string
		Pages    [][]string
		Snapshot map[string]any
		Waited   bool
		NotFound []any
		DryRun   []any
		BadToken []any
		STSBad   []any
		Copy     struct {
			ID   string
			Tags []map[string]string
		}
		Tags []map[string]string
	}
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("%v: %s", err, outb)
	}
	if out.Identity["Account"] != aliceAccount || out.Identity["Arn"] != "arn:aws:iam::"+aliceAccount+":root" {
		t.Errorf("identity %v", out.Identity)
	}
	if len(out.Regions) != 1 || out.Regions[0]["RegionName"] != "us-east-1" {
		t.Errorf("regions %v", out.Regions)
	}
	var n []int
	for _, p := range out.Pages {
		n = append(n, len(p))
	}
	if len(n) != 3 || n[0] != 5 || n[1] != 5 || n[2] != 2 {
		t.Errorf("pages %v", out.Pages)
	}
	want := map[string]any{"SnapshotId": snapID(1), "VolumeId": "vol-ffffffff", "State": "completed", "StartTime": "2026-09-25T15:19:43.497000+00:00",
		"Progress": "100%", "OwnerId": aliceAccount, "VolumeSize": 1.0, "Description": "d & e", "Encrypted": false,
		"StorageTier": "standard", "TransferType": "standard", "CompletionTime": "2026-09-25T15:19:44.997000+00:00", "FullSnapshotSizeInBytes": 524288.0}
	for k, v := range want {
		if out.Snapshot[k] != v {
			t.Errorf("snapshot %s = %v, want %v", k, out.Snapshot[k], v)
		}
	}
	if !out.Waited {
		t.Error("the waiter did not finish")
	}
	checkBotoErr(t, "notfound", out.NotFound, "InvalidSnapshot.NotFound", 400)
	checkBotoErr(t, "dryrun", out.DryRun, "DryRunOperation", 412)
	checkBotoErr(t, "badtoken", out.BadToken, "InvalidPaginationToken", 400)
	checkBotoErr(t, "stsbad", out.STSBad, "SignatureDoesNotMatch", 403)
	if !strings.HasPrefix(out.Copy.ID, "snap-") || len(out.Copy.Tags) != 1 || out.Copy.Tags[0]["Key"] != "c" {
		t.Errorf("copy %+v", out.Copy)
	}
	in, _ := last[snapshot.CopyInput](s.fake)
	if in.Description == nil || *in.Description != "copy" {
		t.Errorf("copy input %+v", in)
	}
	if len(out.Tags) != 1 || out.Tags[0]["Key"] != "k" {
		t.Errorf("tags after delete_tags: %v", out.Tags)
	}
}

func checkBotoErr(t *testing.T, name string, got []any, code string, status float64) {
	t.Helper()
	if len(got) != 4 || got[0] != code || got[2] != status || got[3] != true {
		t.Errorf("%s: %v, want %s %v with a request ID", name, got, code, status)
	}
}

// TestAWSCLIWire: the AWS CLI's describe-snapshots adds MaxResults=1000
// and follows NextToken; its errors exit non-zero with the code.
func TestAWSCLIWire(t *testing.T) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the AWS CLI is not installed")
		}
		t.Skip("aws (the AWS CLI) is not on PATH")
	}
	s := startServer(t, ec2api.Options{})
	for i := 1; i <= 3; i++ {
		s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(i), Status: ebs.StatusCompleted, StartTime: t0, VolumeSize: 1})
	}
	run := func(args ...string) (string, string, error) {
		cmd := exec.CommandContext(ctx, cli, append(args, "--endpoint-url", s.URL, "--output", "json")...)
		cmd.Env = clientEnv(s.URL)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return string(out), stderr.String(), err
	}
	out, stderr, err := run("ec2", "describe-snapshots", "--owner-ids", "self")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var list struct{ Snapshots []map[string]any }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Snapshots) != 3 {
		t.Fatalf("%v: %s", err, out)
	}
	if in, _ := last[snapshot.DescribeInput](s.fake); in.MaxResults == nil || *in.MaxResults != 1000 {
		t.Errorf("the CLI's injected MaxResults did not arrive: %+v", in)
	}
	out, stderr, err = run("sts", "get-caller-identity")
	if err != nil || !strings.Contains(out, `"Account": "`+aliceAccount+`"`) {
		t.Fatalf("%v: %s %s", err, out, stderr)
	}
	_, stderr, err = run("ec2", "delete-snapshot", "--snapshot-id", snapID(9))
	if err == nil || !strings.Contains(stderr, "An error occurred (InvalidSnapshot.NotFound) when calling the DeleteSnapshot operation: The snapshot '"+snapID(9)+"' does not exist.") {
		t.Fatalf("%v: %s", err, stderr)
	}
}
