package server_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// boto3EC2 drives the EC2 and STS APIs with boto3's ec2 and sts clients,
// making the snapshots with its ebs client: every action, the documented
// errors, the paginator, the snapshot_completed waiter, DryRun, and
// another account's view. It prints what it saw as JSON.
const boto3EC2 = `
import base64, hashlib, json, os, boto3, botocore
from botocore.config import Config
url = os.environ["EBSD_URL"]
cfg = Config(retries={"max_attempts": 1, "mode": "legacy"})
ebs = boto3.client("ebs", endpoint_url=url, config=cfg)
ec2 = boto3.client("ec2", endpoint_url=url, config=cfg)
sts = boto3.client("sts", endpoint_url=url, config=cfg)
bob = boto3.client("ec2", endpoint_url=url, config=cfg,
    aws_access_key_id=os.environ["BOB_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["BOB_SECRET_ACCESS_KEY"])
wait = {"Delay": 0.2, "MaxAttempts": 75}
out = {}
def err(f, **kw):
    try:
        f(**kw)
    except botocore.exceptions.ClientError as e:
        r = e.response
        return [r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], bool(r["ResponseMetadata"].get("RequestId"))]
    return None

out["identity"] = {k: v for k, v in sts.get_caller_identity().items() if k != "ResponseMetadata"}
out["regions"] = [r["RegionName"] for r in ec2.describe_regions()["Regions"]]

src = ebs.start_snapshot(VolumeSize=1, Description="source", Tags=[{"Key": "env", "Value": "a b"}])["SnapshotId"]
data = bytes([7]) * 524288
ebs.put_snapshot_block(SnapshotId=src, BlockIndex=0, BlockData=data, DataLength=len(data),
    Checksum=base64.b64encode(hashlib.sha256(data).digest()).decode(), ChecksumAlgorithm="SHA256")
ebs.complete_snapshot(SnapshotId=src, ChangedBlocksCount=1)
ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[src], WaiterConfig=wait)
s = ec2.describe_snapshots(SnapshotIds=[src])["Snapshots"][0]
out["source"] = {k: s.get(k) for k in ["State", "Progress", "VolumeId", "VolumeSize", "Description", "Encrypted", "FullSnapshotSizeInBytes", "StorageTier"]}
out["source"]["Tags"] = s.get("Tags")
out["source"]["HasTimes"] = "StartTime" in s and "CompletionTime" in s

for i in range(11):
    ebs.start_snapshot(VolumeSize=1, Tags=[{"Key": "n", "Value": str(i)}])
pages = ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], PaginationConfig={"PageSize": 5})
out["pages"] = [len(p["Snapshots"]) for p in pages]
out["filtered"] = [x["SnapshotId"] == src for x in ec2.describe_snapshots(Filters=[{"Name": "tag:env", "Values": ["a *"]}, {"Name": "status", "Values": ["completed"]}])["Snapshots"]]
out["pending"] = len(ec2.describe_snapshots(Filters=[{"Name": "status", "Values": ["pending"]}, {"Name": "tag-key", "Values": ["n"]}])["Snapshots"])

cp = ec2.copy_snapshot(SourceRegion="us-east-1", SourceSnapshotId=src, Description="copy",
    TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "copy", "Value": "yes"}]}])
copy = cp["SnapshotId"]
out["copyTags"] = cp.get("Tags")
ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[copy], WaiterConfig=wait)
c = ec2.describe_snapshots(SnapshotIds=[copy])["Snapshots"][0]
out["copy"] = {"State": c["State"], "Description": c.get("Description"), "Tags": c.get("Tags")}
blocks = ebs.list_snapshot_blocks(SnapshotId=copy)["Blocks"]
got = ebs.get_snapshot_block(SnapshotId=copy, BlockIndex=0, BlockToken=blocks[0]["BlockToken"])["BlockData"].read()
out["copyReads"] = got == data

ec2.create_tags(Resources=[src, copy], Tags=[{"Key": "k", "Value": "v"}, {"Key": "e", "Value": ""}, {"Key": "f", "Value": "g"}])
ec2.delete_tags(Resources=[src], Tags=[{"Key": "k"}, {"Key": "e", "Value": ""}, {"Key": "f", "Value": "other"}])
out["tags"] = sorted(t["Key"] + "=" + t["Value"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [src]}])["Tags"])
ec2.delete_tags(Resources=[copy])
out["copyTagsAfter"] = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [copy]}])["Tags"]

out["notfound"] = err(ec2.delete_snapshot, SnapshotId="snap-0123456789abcdef9")
out["malformed"] = err(ec2.describe_snapshots, SnapshotIds=["snap-0123"])
out["dryrun"] = err(ec2.delete_snapshot, SnapshotId=src, DryRun=True)
out["badtoken"] = err(ec2.describe_snapshots, MaxResults=5, NextToken="garbage")
out["combination"] = err(ec2.describe_snapshots, MaxResults=5, SnapshotIds=[src])
out["badfilter"] = err(ec2.describe_snapshots, Filters=[{"Name": "colour", "Values": ["red"]}])

out["bobSees"] = len(bob.describe_snapshots()["Snapshots"])
out["bobDelete"] = err(bob.delete_snapshot, SnapshotId=src)
out["bobTag"] = err(bob.create_tags, Resources=[src], Tags=[{"Key": "a", "Value": "b"}])
out["bobCopy"] = err(bob.copy_snapshot, SourceRegion="us-east-1", SourceSnapshotId=src)

ec2.delete_snapshot(SnapshotId=src)
out["deletedDescribe"] = err(ec2.describe_snapshots, SnapshotIds=[src])
out["deletedEBS"] = err(ebs.list_snapshot_blocks, SnapshotId=src)
got = ebs.get_snapshot_block(SnapshotId=copy, BlockIndex=0, BlockToken=ebs.list_snapshot_blocks(SnapshotId=copy)["Blocks"][0]["BlockToken"])["BlockData"].read()
out["copyReadsAfterDelete"] = got == data
print(json.dumps(out))
`

// TestEC2Boto3 runs boto3EC2 against a real ebsd.
func TestEC2Boto3(t *testing.T) {
	py := lookTool(t, "python3", "import boto3")
	s := ebstest.Start(t, ebstest.Options{})
	cmd := exec.CommandContext(ctx, py, "-c", boto3EC2)
	cmd.Env = clientEnv(s, ebstest.Alice)
	b, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("boto3: %v\n%s", err, stderr)
	}
	var out struct {
		Identity                        map[string]string
		Regions                         []string
		Source                          map[string]any
		Pages                           []int
		Filtered                        []bool
		Pending                         int
		CopyTags                        []map[string]string
		Copy                            map[string]any
		CopyReads, CopyReadsAfterDelete bool
		Tags                            []string
		CopyTagsAfter                   []any
		NotFound, Malformed, DryRun     []any
		BadToken, Combination           []any
		BadFilter                       []any
		BobSees                         int
		BobDelete, BobTag, BobCopy      []any
		DeletedDescribe, DeletedEBS     []any
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if out.Identity["Account"] != ebstest.Alice.AccountID || out.Identity["Arn"] != "arn:aws:iam::"+ebstest.Alice.AccountID+":root" {
		t.Errorf("identity %v", out.Identity)
	}
	if !slices.Equal(out.Regions, []string{"us-east-1"}) {
		t.Errorf("regions %v", out.Regions)
	}
	for k, v := range map[string]any{"State": "completed", "Progress": "100%", "VolumeId": "vol-ffffffff", "VolumeSize": 1.0,
		"Description": "source", "Encrypted": false, "FullSnapshotSizeInBytes": 524288.0, "StorageTier": "standard", "HasTimes": true} {
		if out.Source[k] != v {
			t.Errorf("source %s = %v, want %v", k, out.Source[k], v)
		}
	}
	if !slices.Equal(out.Pages, []int{5, 5, 2}) {
		t.Errorf("pages %v", out.Pages)
	}
	if !slices.Equal(out.Filtered, []bool{true}) || out.Pending != 11 {
		t.Errorf("filters: %v, %d pending", out.Filtered, out.Pending)
	}
	if len(out.CopyTags) != 1 || out.CopyTags[0]["Key"] != "copy" || out.Copy["State"] != "completed" || out.Copy["Description"] != "copy" {
		t.Errorf("copy %v %v", out.CopyTags, out.Copy)
	}
	if !out.CopyReads || !out.CopyReadsAfterDelete {
		t.Errorf("copy reads %v, after deleting the source %v", out.CopyReads, out.CopyReadsAfterDelete)
	}
	if !slices.Equal(out.Tags, []string{"env=a b", "f=g"}) || len(out.CopyTagsAfter) != 0 {
		t.Errorf("tags %v, copy's after delete_tags %v", out.Tags, out.CopyTagsAfter)
	}
	for name, c := range map[string]struct {
		got    []any
		code   string
		status float64
	}{
		"notfound": {out.NotFound, "InvalidSnapshot.NotFound", 400}, "malformed": {out.Malformed, "InvalidSnapshotID.Malformed", 400},
		"dryrun": {out.DryRun, "DryRunOperation", 412}, "badtoken": {out.BadToken, "InvalidPaginationToken", 400},
		"combination": {out.Combination, "InvalidParameterCombination", 400}, "badfilter": {out.BadFilter, "InvalidParameterValue", 400},
		"bobDelete": {out.BobDelete, "InvalidSnapshot.NotFound", 400}, "bobTag": {out.BobTag, "InvalidSnapshot.NotFound", 400},
		"bobCopy": {out.BobCopy, "InvalidSnapshot.NotFound", 400}, "deletedDescribe": {out.DeletedDescribe, "InvalidSnapshot.NotFound", 400},
		"deletedEBS": {out.DeletedEBS, "ResourceNotFoundException", 404},
	} {
		if len(c.got) != 3 || c.got[0] != c.code || c.got[1] != c.status || c.got[2] != true {
			t.Errorf("%s: %v, want %s %v with a request ID", name, c.got, c.code, c.status)
		}
	}
	if out.BobSees != 0 {
		t.Errorf("Bob sees %d snapshots", out.BobSees)
	}
}
