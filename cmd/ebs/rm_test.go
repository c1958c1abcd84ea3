package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestRmPartialFailure(t *testing.T) {
	f := &fakeEC2{deleteErr: map[string]error{
		"snap-0000000000000000b": ec2Error("DeleteSnapshot", "InvalidSnapshot.NotFound", "The snapshot 'snap-0000000000000000b' does not exist."),
	}}
	code, stdout, stderr := runEC2(f, "rm", "snap-0000000000000000a", "snap-0000000000000000b", "snap-0000000000000000c", "snap-0000000000000000a")
	if code != 1 {
		t.Errorf("exit %d, want 1: one snapshot was not deleted", code)
	}
	// Every snapshot is tried once (the repeated one too), after a failure as well.
	var tried []string
	for _, in := range f.deletes {
		tried = append(tried, aws.ToString(in.SnapshotId))
		if in.DryRun != nil {
			t.Errorf("DryRun sent without --dry-run")
		}
	}
	if strings.Join(tried, " ") != "snap-0000000000000000a snap-0000000000000000b snap-0000000000000000c" {
		t.Errorf("deleted %v", tried)
	}
	if stdout != "deleted snap-0000000000000000a\ndeleted snap-0000000000000000c\n" {
		t.Errorf("stdout %q", stdout)
	}
	for _, want := range []string{"snapshot snap-0000000000000000b does not exist (or belongs to another account)", "'ebs snapshots' lists yours",
		"1 of 3 snapshot(s) not deleted"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	// --json: one document with every outcome, and still exit 1.
	f.deletes = nil
	code, stdout, _ = runEC2(f, "rm", "--json", "snap-0000000000000000a", "snap-0000000000000000b")
	var out rmOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 1 || len(out.Results) != 2 ||
		!out.Results[0].Deleted || out.Results[0].Error != "" || out.Results[1].Deleted || !strings.Contains(out.Results[1].Error, "InvalidSnapshot.NotFound") {
		t.Errorf("--json: exit %d, %+v (%v); stdout %q", code, out, err, stdout)
	}
}

func TestRmAllDeleted(t *testing.T) {
	code, stdout, stderr := runEC2(&fakeEC2{}, "rm", "snap-0000000000000000a")
	if code != 0 || stdout != "deleted snap-0000000000000000a\n" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, _ := runEC2(&fakeEC2{}, "rm"); code != 2 {
		t.Errorf("no ID: exit %d, want 2", code)
	}
}

func TestRmDryRun(t *testing.T) {
	// The service answers DryRunOperation: the dry run succeeded.
	f := &fakeEC2{honourDryRun: true}
	code, stdout, stderr := runEC2(f, "rm", "--dry-run", "snap-0000000000000000a")
	if code != 0 || stdout != "would delete snap-0000000000000000a (dry run)\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if len(f.deletes) != 1 || !aws.ToBool(f.deletes[0].DryRun) {
		t.Errorf("DryRun not sent: %+v", f.deletes)
	}
	// A denied dry run is a failure.
	f.deleteErr = map[string]error{"snap-0000000000000000a": ec2Error("DeleteSnapshot", "UnauthorizedOperation", "You are not authorized to perform this operation.")}
	code, _, stderr = runEC2(f, "rm", "--dry-run", "snap-0000000000000000a")
	if code != 1 || !strings.Contains(stderr, "lack permission") {
		t.Errorf("denied: exit %d, stderr %q", code, stderr)
	}
	// A service that ignores DryRun deleted the snapshot: not a dry run.
	code, _, stderr = runEC2(&fakeEC2{}, "rm", "--dry-run", "snap-0000000000000000a")
	if code != 1 || !strings.Contains(stderr, "ignored DryRun") {
		t.Errorf("DryRun ignored: exit %d, stderr %q", code, stderr)
	}
}
