package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestCpFlags(t *testing.T) {
	const src = "snap-0000000000000000a"
	tests := []struct {
		name        string
		args        []string
		code        int
		description *string
		encrypted   *bool
		kms         *string
		tags        []types.TagSpecification
	}{
		{"plain", nil, 0, nil, nil, nil, nil},
		{"description", []string{"--description", "copy of base"}, 0, aws.String("copy of base"), nil, nil, nil},
		{"encrypted, default key", []string{"--encrypted"}, 0, nil, aws.Bool(true), nil, nil},
		{"encrypted with a key", []string{"--encrypted", "--kms-key-id", "alias/backup"}, 0, nil, aws.Bool(true), aws.String("alias/backup"), nil},
		{"a key needs --encrypted", []string{"--kms-key-id", "alias/backup"}, 2, nil, nil, nil, nil},
		{"tags", []string{"--tag", "env=test", "--tag", "empty=", "--tag", "u=a=b"}, 0, nil, nil, nil,
			[]types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{
				{Key: aws.String("env"), Value: aws.String("test")}, {Key: aws.String("empty"), Value: aws.String("")}, {Key: aws.String("u"), Value: aws.String("a=b")}}}}},
		{"a tag needs =", []string{"--tag", "env"}, 2, nil, nil, nil, nil},
		{"two snapshots", []string{"snap-0000000000000000b"}, 2, nil, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEC2{copyID: "snap-0000000000000000c"}
			code, stdout, stderr := runEC2(f, append([]string{"cp", src}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if code != 0 {
				if len(f.copies) != 0 {
					t.Errorf("CopySnapshot called after a usage error")
				}
				return
			}
			if stdout != "snap-0000000000000000c\n" {
				t.Errorf("stdout %q, want the copy's ID alone", stdout)
			}
			in := f.copies[0]
			// The copy stays in the client's region.
			if aws.ToString(in.SourceSnapshotId) != src || aws.ToString(in.SourceRegion) != "eu-west-3" {
				t.Errorf("source %q in %q", aws.ToString(in.SourceSnapshotId), aws.ToString(in.SourceRegion))
			}
			if !reflect.DeepEqual(in.Description, tc.description) || !reflect.DeepEqual(in.Encrypted, tc.encrypted) ||
				!reflect.DeepEqual(in.KmsKeyId, tc.kms) || !reflect.DeepEqual(in.TagSpecifications, tc.tags) {
				t.Errorf("request: description %v encrypted %v kms %v tags %+v", aws.ToString(in.Description), in.Encrypted, aws.ToString(in.KmsKeyId), in.TagSpecifications)
			}
			if len(f.describes) != 0 {
				t.Errorf("DescribeSnapshots called without --wait")
			}
		})
	}
}

func TestCpWait(t *testing.T) {
	state := func(states ...types.SnapshotState) func(int, *ec2DescribeIn) (*ec2DescribeOut, error) {
		return func(n int, in *ec2DescribeIn) (*ec2DescribeOut, error) {
			s := states[min(n, len(states))-1]
			return &ec2DescribeOut{Snapshots: []types.Snapshot{{SnapshotId: aws.String(in.SnapshotIds[0]), State: s, Progress: aws.String("0%"),
				StateMessage: aws.String("message of " + string(s))}}}, nil
		}
	}
	f := &fakeEC2{copyID: "snap-0000000000000000c", describe: state("pending", "pending", "completed")}
	code, stdout, stderr := runEC2(f, "cp", "--json", "--wait", "--interval", "1ms", "snap-0000000000000000a")
	var out cpOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 0 {
		t.Fatalf("exit %d (%v): %q %q", code, err, stdout, stderr)
	}
	if out.SnapshotID != "snap-0000000000000000c" || out.SourceSnapshotID != "snap-0000000000000000a" || out.Status != "completed" {
		t.Errorf("%+v", out)
	}
	if len(f.describes) != 3 || f.describes[0].SnapshotIds[0] != "snap-0000000000000000c" {
		t.Errorf("%d polls, want 3 of the copy", len(f.describes))
	}

	// A copy that fails: exit 1, its state and message, and its ID.
	f = &fakeEC2{copyID: "snap-0000000000000000c", describe: state("pending", "error")}
	code, stdout, stderr = runEC2(f, "cp", "--wait", "--interval", "1ms", "snap-0000000000000000a")
	if code != 1 || stdout != "snap-0000000000000000c\n" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{"it is error, 0%: message of error", "'ebs rm snap-0000000000000000c' deletes it"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
