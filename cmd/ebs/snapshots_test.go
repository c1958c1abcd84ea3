package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ebsd/ebsd/internal/client"
)

// threeSnapshots are served out of start-time order, across two pages.
func threeSnapshots() []types.Snapshot {
	t := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return &v
	}
	return []types.Snapshot{
		{
			SnapshotId: aws.String("snap-0000000000000000a"), State: types.SnapshotStatePending, Progress: aws.String("0%"),
			VolumeSize: aws.Int32(8), StartTime: t("2026-12-02T09:00:00.250Z"), OwnerId: aws.String("111111111111"),
			Description: aws.String("a\tvery long description, longer than its column"), Encrypted: aws.Bool(false),
			VolumeId: aws.String("vol-ffffffff"),
		},
		{
			SnapshotId: aws.String("snap-0aaaaaaa"), State: types.SnapshotStateError, Progress: aws.String("0%"),
			StateMessage: aws.String("Snapshot timed out"),
			VolumeSize:   aws.Int32(1), StartTime: t("2026-12-01T10:00:00Z"), OwnerId: aws.String("111111111111"),
			Encrypted: aws.Bool(true), KmsKeyId: aws.String("arn:aws:kms:us-east-1:111111111111:key/k"),
			VolumeId: aws.String("vol-ffffffff"),
		},
		{
			SnapshotId: aws.String("snap-0000000000000000b"), State: types.SnapshotStateCompleted, Progress: aws.String("100%"),
			VolumeSize: aws.Int32(16384), StartTime: t("2026-12-01T10:00:00Z"), CompletionTime: t("2026-12-01T10:00:07.5Z"),
			OwnerId: aws.String("111111111111"), Description: aws.String("base image"), Encrypted: aws.Bool(false),
			VolumeId: aws.String("vol-ffffffff"), FullSnapshotSizeInBytes: aws.Int64(1048576),
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("storage")}, {Key: aws.String(client.ImageSizeTag), Value: aws.String("104857600")},
				{Key: aws.String("empty"), Value: aws.String("")}},
		},
	}
}

func TestSnapshotsTable(t *testing.T) {
	f := &fakeEC2{snapshots: threeSnapshots(), pageSize: 2}
	code, stdout, stderr := runEC2(f, "snapshots")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Sorted by start time, then ID; fixed widths; the description cut
	// and its tab made a space; tags sorted by key.
	want := "" +
		"SNAPSHOT                STATUS       PROGRESS  SIZE GIB  STARTED (UTC)         DESCRIPTION                       TAGS\n" +
		"snap-0000000000000000b  completed        100%     16384  2026-12-01T10:00:00Z  base image                        ebs:image-size=104857600,empty=,team=storage\n" +
		"snap-0aaaaaaa           error              0%         1  2026-12-01T10:00:00Z\n" +
		"snap-0000000000000000a  pending            0%         8  2026-12-02T09:00:00Z  a very long description, longer…\n"
	if stdout != want {
		t.Errorf("table:\n%s\nwant:\n%s", stdout, want)
	}
	// Every page was asked for: own snapshots, 1000 a page, the token of
	// the page before.
	if len(f.describes) != 2 {
		t.Fatalf("%d DescribeSnapshots calls, want 2 (two pages)", len(f.describes))
	}
	for i, in := range f.describes {
		if !reflect.DeepEqual(in.OwnerIds, []string{"self"}) || aws.ToInt32(in.MaxResults) != 1000 || in.SnapshotIds != nil || in.Filters != nil {
			t.Errorf("call %d: OwnerIds %v MaxResults %v SnapshotIds %v Filters %v; want [self], 1000, none, none",
				i, in.OwnerIds, aws.ToInt32(in.MaxResults), in.SnapshotIds, in.Filters)
		}
	}
	if aws.ToString(f.describes[0].NextToken) != "" || aws.ToString(f.describes[1].NextToken) != "2" {
		t.Errorf("tokens %q, %q; want none, then the first page's", aws.ToString(f.describes[0].NextToken), aws.ToString(f.describes[1].NextToken))
	}
}

func TestSnapshotsTableEmpty(t *testing.T) {
	code, stdout, stderr := runEC2(&fakeEC2{}, "snapshots")
	if code != 0 || strings.Count(stdout, "\n") != 1 || !strings.HasPrefix(stdout, "SNAPSHOT ") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the header alone", code, stdout, stderr)
	}
}

func TestSnapshotsJSON(t *testing.T) {
	f := &fakeEC2{snapshots: threeSnapshots(), pageSize: 2}
	code, stdout, stderr := runEC2(f, "snapshots", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Snapshots []map[string]any `json:"snapshots"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&doc); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON document (%v): %s", err, stdout)
	}
	keys := []string{"completion_time", "description", "encrypted", "full_snapshot_size_bytes", "kms_key_id", "owner_id", "progress",
		"snapshot_id", "start_time", "status", "status_message", "tags", "volume_id", "volume_size_gib"}
	var ids []string
	for _, s := range doc.Snapshots {
		var got []string
		for k := range s {
			got = append(got, k)
		}
		if len(got) != len(keys) {
			t.Errorf("%v: keys %v, want exactly %v", s["snapshot_id"], got, keys)
		}
		for _, k := range keys {
			if _, ok := s[k]; !ok {
				t.Errorf("%v lacks key %q", s["snapshot_id"], k)
			}
		}
		ids = append(ids, s["snapshot_id"].(string))
	}
	if want := []string{"snap-0000000000000000b", "snap-0aaaaaaa", "snap-0000000000000000a"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
	first, pending := doc.Snapshots[0], doc.Snapshots[2]
	checks := []struct {
		name      string
		got, want any
	}{
		{"completed status", first["status"], "completed"},
		{"completion_time", first["completion_time"], "2026-12-01T10:00:07.5Z"},
		{"start_time", pending["start_time"], "2026-12-02T09:00:00.25Z"},
		{"volume size", first["volume_size_gib"], 16384.0},
		{"full size", first["full_snapshot_size_bytes"], 1048576.0},
		{"tags", first["tags"], map[string]any{"team": "storage", client.ImageSizeTag: "104857600", "empty": ""}},
		{"pending completion_time", pending["completion_time"], nil},
		{"no tags", pending["tags"], map[string]any{}},
		{"description whole", pending["description"], "a\tvery long description, longer than its column"},
		{"status_message", doc.Snapshots[1]["status_message"], "Snapshot timed out"},
		{"kms_key_id", doc.Snapshots[1]["kms_key_id"], "arn:aws:kms:us-east-1:111111111111:key/k"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: %#v, want %#v", c.name, c.got, c.want)
		}
	}

	// No snapshots: an empty list, not null.
	_, stdout, _ = runEC2(&fakeEC2{}, "snapshots", "--json")
	if strings.Join(strings.Fields(stdout), "") != `{"snapshots":[]}` {
		t.Errorf("no snapshots: %q, want {\"snapshots\": []}", stdout)
	}
}

// TestSnapshotsRequest checks how the command line maps onto the
// DescribeSnapshots request.
func TestSnapshotsRequest(t *testing.T) {
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		args    []string
		ids     []string
		filters []types.Filter
		limit   int32
	}{
		{"nothing", nil, nil, nil, 1000},
		{"IDs: no MaxResults, which AWS refuses with them", []string{"snap-1", "snap-2"}, []string{"snap-1", "snap-2"}, nil, 0},
		{"status", []string{"--status", "pending"}, nil, []types.Filter{f("status", "pending")}, 1000},
		{"tag key and value", []string{"--tag", "env=prod"}, nil, []types.Filter{f("tag:env", "prod")}, 1000},
		{"tag key only", []string{"--tag", "env"}, nil, []types.Filter{f("tag-key", "env")}, 1000},
		{"tag with an empty value", []string{"--tag", "env="}, nil, []types.Filter{f("tag:env", "")}, 1000},
		{"tag value holding =", []string{"--tag", "k=a=b"}, nil, []types.Filter{f("tag:k", "a=b")}, 1000},
		{"one name twice: ORed values", []string{"--tag", "env=prod", "--tag", "env=test", "--filter", "tag:env=prod"}, nil,
			[]types.Filter{f("tag:env", "prod", "test")}, 1000},
		{"different names: separate filters, in order", []string{"--filter", "description=base*", "--tag", "a", "--tag", "b", "--status", "completed", "--filter", "volume-size=1"},
			nil, []types.Filter{f("description", "base*"), f("volume-size", "1"), f("tag-key", "a", "b"), f("status", "completed")}, 1000},
		{"IDs among flags", []string{"snap-1", "--status", "error", "snap-2"}, []string{"snap-1", "snap-2"}, []types.Filter{f("status", "error")}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeEC2{}
			code, _, stderr := runEC2(fake, append([]string{"snapshots"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			in := fake.describes[0]
			if !reflect.DeepEqual(in.SnapshotIds, tc.ids) || !reflect.DeepEqual(in.Filters, tc.filters) || aws.ToInt32(in.MaxResults) != tc.limit ||
				!reflect.DeepEqual(in.OwnerIds, []string{"self"}) {
				t.Errorf("request: ids %v filters %s MaxResults %d owners %v; want ids %v filters %s MaxResults %d owners [self]",
					in.SnapshotIds, filterString(in.Filters), aws.ToInt32(in.MaxResults), in.OwnerIds, tc.ids, filterString(tc.filters), tc.limit)
			}
		})
	}
}

func filterString(fs []types.Filter) string {
	var s []string
	for _, f := range fs {
		s = append(s, aws.ToString(f.Name)+"="+strings.Join(f.Values, "|"))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestSnapshotsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--filter", "status"},
		{"--filter", "=x"},
		{"--tag", "=x"},
		{"--status", "complete"},
	} {
		fake := &fakeEC2{}
		code, _, stderr := runEC2(fake, append([]string{"snapshots"}, args...)...)
		if code != 2 || len(fake.describes) != 0 {
			t.Errorf("%v: exit %d after %d calls, want 2 and none; stderr %q", args, code, len(fake.describes), stderr)
		}
	}
}

func TestSnapshotsNotFound(t *testing.T) {
	f := &fakeEC2{describe: func(int, *ec2DescribeIn) (*ec2DescribeOut, error) {
		return nil, ec2Error("DescribeSnapshots", "InvalidSnapshot.NotFound", "The snapshot 'snap-0123456789abcdef0' does not exist.")
	}}
	code, _, stderr := runEC2(f, "snapshots", "snap-0123456789abcdef0")
	if code != 1 || !strings.Contains(stderr, "snapshot snap-0123456789abcdef0 does not exist (or belongs to another account)") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestSnapshotsOldServer: an ebsd without the EC2 API gets a message
// that says so, not a bare 404.
func TestSnapshotsOldServer(t *testing.T) {
	code, _, stderr := runEC2(oldEC2(t), "snapshots")
	if code != 1 || !strings.Contains(stderr, "does not serve the EC2 API") || !strings.Contains(stderr, "upgrade it") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
