package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// The end-to-end tests of the EC2 Query API and STS (docs/ec2-api.md)
// through aws-sdk-go-v2's service/ec2 and service/sts, against a real
// ebsd whose snapshots are made through EBS direct.

// TestEC2DescribeSnapshots: an EBS-direct snapshot looks as on AWS
// (§5.1.3), pending and completed.
func TestEC2DescribeSnapshots(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	c, e := s.Client(ebstest.Alice), ec2Client(s, ebstest.Alice)
	before := time.Now().Add(-time.Second)
	done := completedSnapshot(t, c, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(2), Description: aws.String("root & <boot>"),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}, map[int32]byte{0: 1, 7: 2})
	pending := startSnapshot(t, c, &ebs.StartSnapshotInput{})

	out, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Snapshots) != 2 || out.NextToken != nil {
		t.Fatalf("%d snapshots, token %v", len(out.Snapshots), out.NextToken)
	}
	var d, p ec2types.Snapshot
	for _, sn := range out.Snapshots {
		switch *sn.SnapshotId {
		case done:
			d = sn
		case pending:
			p = sn
		}
	}
	if aws.ToString(d.VolumeId) != "vol-ffffffff" || d.State != ec2types.SnapshotStateCompleted || aws.ToString(d.Progress) != "100%" ||
		aws.ToString(d.OwnerId) != ebstest.Alice.AccountID || aws.ToInt32(d.VolumeSize) != 2 || aws.ToString(d.Description) != "root & <boot>" ||
		aws.ToBool(d.Encrypted) || d.KmsKeyId != nil || len(d.Tags) != 1 || aws.ToString(d.Tags[0].Value) != "test" ||
		d.StartTime.Before(before) || d.CompletionTime == nil || d.CompletionTime.Before(*d.StartTime) ||
		aws.ToInt64(d.FullSnapshotSizeInBytes) != 2*ebstest.BlockSize || d.StorageTier != ec2types.StorageTierStandard {
		t.Errorf("completed snapshot: %+v", d)
	}
	if p.State != ec2types.SnapshotStatePending || aws.ToString(p.Progress) != "0%" || p.CompletionTime != nil || p.FullSnapshotSizeInBytes != nil {
		t.Errorf("pending snapshot: %+v", p)
	}
	out, err = e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{done}})
	if err != nil || len(out.Snapshots) != 1 || *out.Snapshots[0].SnapshotId != done {
		t.Fatalf("by ID: %v", err)
	}
}

// TestEC2Pagination: MaxResults 5 over 12 snapshots is pages of 5, 5 and
// 2 through the SDK's paginator; the token refuses other filters.
func TestEC2Pagination(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	c, e := s.Client(ebstest.Alice), ec2Client(s, ebstest.Alice)
	var want []string
	for i := range 12 {
		want = append(want, startSnapshot(t, c, &ebs.StartSnapshotInput{Tags: []types.Tag{{Key: aws.String("n"), Value: aws.String(fmt.Sprint(i))}}}))
	}
	slices.Sort(want)
	filters := []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{"n"}}}
	p := ec2.NewDescribeSnapshotsPaginator(e, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(5), Filters: filters})
	var got []string
	var sizes []int
	token := ""
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.Snapshots))
		for _, sn := range page.Snapshots {
			got = append(got, *sn.SnapshotId)
		}
		if token == "" && page.NextToken != nil {
			token = *page.NextToken
		}
	}
	if !slices.Equal(sizes, []int{5, 5, 2}) || !slices.Equal(got, want) {
		t.Fatalf("pages %v: %v, want %v", sizes, got, want)
	}
	_, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(5), NextToken: &token,
		Filters: []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{"m"}}}})
	checkEC2Error(t, err, 400, "InvalidPaginationToken", "")
	_, err = e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{MaxResults: aws.Int32(5), NextToken: &token})
	checkEC2Error(t, err, 400, "InvalidPaginationToken", "")
	_, err = ec2Client(s, ebstest.Bob).DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(5), NextToken: &token, Filters: filters})
	checkEC2Error(t, err, 400, "InvalidPaginationToken", "")
	_, err = e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{MaxResults: aws.Int32(4)})
	checkEC2Error(t, err, 400, "InvalidParameterValue", "maxResults")
	_, err = e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{MaxResults: aws.Int32(5), SnapshotIds: []string{want[0]}})
	checkEC2Error(t, err, 400, "InvalidParameterCombination", "")

	tp := ec2.NewDescribeTagsPaginator(e, &ec2.DescribeTagsInput{MaxResults: aws.Int32(5)})
	n := 0
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Tags)
	}
	if n != 12 {
		t.Fatalf("DescribeTags listed %d tags", n)
	}
}

// TestEC2Filters: filters by field, tag and wildcard, OR within a filter,
// AND across.
func TestEC2Filters(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	c, e := s.Client(ebstest.Alice), ec2Client(s, ebstest.Alice)
	tag := func(k, v string) []types.Tag { return []types.Tag{{Key: aws.String(k), Value: aws.String(v)}} }
	web := completedSnapshot(t, c, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Description: aws.String("nightly *web*"), Tags: tag("Name", "web-1")}, nil)
	db := completedSnapshot(t, c, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(4), Description: aws.String("nightly db"), Tags: tag("Name", "db-1")}, nil)
	pend := startSnapshot(t, c, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Tags: tag("role", "scratch")})
	f := func(name string, values ...string) ec2types.Filter {
		return ec2types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		filters []ec2types.Filter
		want    []string
	}{
		{[]ec2types.Filter{f("status", "completed")}, []string{web, db}},
		{[]ec2types.Filter{f("status", "pending", "error")}, []string{pend}},
		{[]ec2types.Filter{f("tag:Name", "web-*")}, []string{web}},
		{[]ec2types.Filter{f("tag:Name", "???-1")}, []string{web}},
		{[]ec2types.Filter{f("tag:Name", "web-?", "db-?")}, []string{web, db}},
		{[]ec2types.Filter{f("tag-key", "ro*")}, []string{pend}},
		{[]ec2types.Filter{f("description", `nightly \*web\*`)}, []string{web}},
		{[]ec2types.Filter{f("description", "nightly*")}, []string{web, db}},
		{[]ec2types.Filter{f("volume-size", "1"), f("status", "completed")}, []string{web}},
		{[]ec2types.Filter{f("volume-id", "vol-ffffffff"), f("encrypted", "false"), f("progress", "100%")}, []string{web, db}},
		{[]ec2types.Filter{f("owner-id", ebstest.Alice.AccountID), f("snapshot-id", db)}, []string{db}},
		{[]ec2types.Filter{f("start-time", time.Now().UTC().Format("2006-01-02")+"T*")}, []string{web, db, pend}},
		{[]ec2types.Filter{f("owner-alias", "amazon")}, nil},
	}
	for _, tt := range tests {
		out, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{Filters: tt.filters})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sn := range out.Snapshots {
			got = append(got, *sn.SnapshotId)
		}
		slices.Sort(got)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("filters %s: %v, want %v", showFilters(tt.filters), got, want)
		}
	}
	_, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{Filters: []ec2types.Filter{f("colour", "red")}})
	checkEC2Error(t, err, 400, "InvalidParameterValue", "The filter 'colour' is invalid")
}

func showFilters(fs []ec2types.Filter) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s=%v ", *f.Name, f.Values)
	}
	return b.String()
}

// TestEC2Errors: the documented errors of §4.2 through the Go SDK.
func TestEC2Errors(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	c, e := s.Client(ebstest.Alice), ec2Client(s, ebstest.Alice)
	id := completedSnapshot(t, c, &ebs.StartSnapshotInput{}, nil)
	_, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{"snap-0123456789abcdef9"}})
	checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", "The snapshot 'snap-0123456789abcdef9' does not exist.")
	_, err = e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String("snap-0123")})
	checkEC2Error(t, err, 400, "InvalidSnapshotID.Malformed", `Invalid id: "snap-0123"`)
	_, err = e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String("snap-0400DC0055E85B9BF")})
	checkEC2Error(t, err, 400, "InvalidParameterValue", "Expected: 'snap-...'")
	_, err = e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vol-0123456789abcdef0"}, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	checkEC2Error(t, err, 400, "InvalidID", "The ID 'vol-0123456789abcdef0' is not valid")
	var many []ec2types.Tag
	for i := range 51 {
		many = append(many, ec2types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
	}
	_, err = e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: many})
	checkEC2Error(t, err, 400, "TagLimitExceeded", "")
	_, err = e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("aws:x"), Value: aws.String("b")}}})
	checkEC2Error(t, err, 400, "InvalidParameterValue", "aws:")
	_, err = e.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("eu-west-1"), SourceSnapshotId: aws.String(id)})
	checkEC2Error(t, err, 400, "InvalidParameterValue", "eu-west-1")
	_, err = e.DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"eu-west-1"}})
	checkEC2Error(t, err, 400, "InvalidParameterValue", "eu-west-1")
}

// TestEC2DeleteSnapshot: a deleted snapshot is gone from the EC2 API and
// from EBS direct; a pending one can be deleted too.
func TestEC2DeleteSnapshot(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	c, e := s.Client(ebstest.Alice), ec2Client(s, ebstest.Alice)
	id := completedSnapshot(t, c, &ebs.StartSnapshotInput{}, map[int32]byte{0: 9})
	pending := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	for _, x := range []string{id, pending} {
		if _, err := e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(x)}); err != nil {
			t.Fatalf("DeleteSnapshot(%s): %v", x, err)
		}
		_, err := e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(x)})
		checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", x)
		_, err = e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{x}})
		checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", x)
	}
	_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id)})
	checkError(t, err, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "")
	out, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{})
	if err != nil || len(out.Snapshots) != 0 {
		t.Fatalf("%v, %d snapshots listed after deleting all", err, len(out.Snapshots))
	}
}

// TestEC2CopySnapshot: a copy has the request's description and tags,
// completes (the SnapshotCompleted waiter), reads the source's blocks, and
// keeps reading after its source is deleted.
func TestEC2CopySnapshot(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	c, e := s.Client(ebstest.Alice), ec2Client(s, ebstest.Alice)
	src := completedSnapshot(t, c, &ebs.StartSnapshotInput{Description: aws.String("source"),
		Tags: []types.Tag{{Key: aws.String("from"), Value: aws.String("source")}}}, map[int32]byte{0: 1, 3: 2})
	want := readAll(t, c, src)
	out, err := e.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("us-east-1"), SourceSnapshotId: aws.String(src),
		Description: aws.String("the copy"), TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot,
			Tags: []ec2types.Tag{{Key: aws.String("copy"), Value: aws.String("yes")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	cp := aws.ToString(out.SnapshotId)
	if !strings.HasPrefix(cp, "snap-") || cp == src || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "copy" {
		t.Fatalf("CopySnapshot output %s %+v", cp, out.Tags)
	}
	w := ec2.NewSnapshotCompletedWaiter(e, func(o *ec2.SnapshotCompletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{cp}}, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	d, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{cp}})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Snapshots[0]
	if aws.ToString(got.Description) != "the copy" || len(got.Tags) != 1 || aws.ToString(got.Tags[0].Key) != "copy" ||
		aws.ToInt64(got.FullSnapshotSizeInBytes) != 2*ebstest.BlockSize {
		t.Errorf("copy: %+v", got)
	}
	sameBlocks(t, readAll(t, c, cp), want)
	if _, err := e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(src)}); err != nil {
		t.Fatal(err)
	}
	sameBlocks(t, readAll(t, c, cp), want)
	_, err = e.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("us-east-1"), SourceSnapshotId: aws.String(src)})
	checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", src)
}

// TestEC2Tags: CreateTags overwrites, DeleteTags's three cases,
// DescribeTags lists them.
func TestEC2Tags(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	c, e := s.Client(ebstest.Alice), ec2Client(s, ebstest.Alice)
	a := completedSnapshot(t, c, &ebs.StartSnapshotInput{}, nil)
	b := completedSnapshot(t, c, &ebs.StartSnapshotInput{}, nil)
	tg := func(k, v string) ec2types.Tag { return ec2types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{a, b},
		Tags: []ec2types.Tag{tg("k", "0"), tg("empty", ""), tg("c", "v"), tg("d", "x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{a}, Tags: []ec2types.Tag{tg("k", "1")}}); err != nil {
		t.Fatal(err)
	}
	// k: any value; empty: only if empty (it is); c: only if "w" (it is
	// not); d: only if "x" (it is).
	if _, err := e.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{a},
		Tags: []ec2types.Tag{{Key: aws.String("k")}, tg("empty", ""), tg("c", "w"), tg("d", "x")}}); err != nil {
		t.Fatal(err)
	}
	tags := func(id string) []string {
		out, err := e.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, x := range out.Tags {
			if aws.ToString(x.ResourceId) != id || x.ResourceType != ec2types.ResourceTypeSnapshot {
				t.Fatalf("tag %+v", x)
			}
			kv = append(kv, aws.ToString(x.Key)+"="+aws.ToString(x.Value))
		}
		slices.Sort(kv)
		return kv
	}
	if got := tags(a); !slices.Equal(got, []string{"c=v"}) {
		t.Errorf("tags of a: %v", got)
	}
	if got := tags(b); !slices.Equal(got, []string{"c=v", "d=x", "empty=", "k=0"}) {
		t.Errorf("tags of b: %v", got)
	}
	if _, err := e.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{b}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(b); len(got) != 0 {
		t.Errorf("tags of b after deleting all: %v", got)
	}
	out, err := e.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("key"), Values: []string{"?"}}}})
	if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].ResourceId) != a {
		t.Fatalf("key=?: %v %+v", err, out)
	}
}

// TestEC2AccountIsolation: another account cannot see, delete, tag or
// copy a snapshot: for it the snapshot does not exist.
func TestEC2AccountIsolation(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	id := completedSnapshot(t, s.Client(ebstest.Alice), &ebs.StartSnapshotInput{}, map[int32]byte{0: 1})
	bob := ec2Client(s, ebstest.Bob)
	out, err := bob.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{})
	if err != nil || len(out.Snapshots) != 0 {
		t.Fatalf("Bob lists %v, %v", err, out)
	}
	out, err = bob.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{ebstest.Alice.AccountID}})
	if err != nil || len(out.Snapshots) != 0 {
		t.Fatalf("Bob lists Alice's: %v, %v", err, out)
	}
	_, err = bob.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
	checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", id)
	_, err = bob.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)})
	checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", id)
	_, err = bob.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", id)
	_, err = bob.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}})
	checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", id)
	_, err = bob.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("us-east-1"), SourceSnapshotId: aws.String(id)})
	checkEC2Error(t, err, 400, "InvalidSnapshot.NotFound", id)
	tags, err := bob.DescribeTags(ctx, &ec2.DescribeTagsInput{})
	if err != nil || len(tags.Tags) != 0 {
		t.Fatalf("Bob's DescribeTags: %v %+v", err, tags)
	}
	// Alice's snapshot is untouched.
	a, err := ec2Client(s, ebstest.Alice).DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
	if err != nil || len(a.Snapshots[0].Tags) != 0 {
		t.Fatalf("Alice's snapshot: %v %+v", err, a)
	}
}

// TestEC2DryRun: every action answers DryRunOperation (412) when it would
// succeed, changes nothing, and gives the action's error when it would
// not.
func TestEC2DryRun(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	e := ec2Client(s, ebstest.Alice)
	id := completedSnapshot(t, s.Client(ebstest.Alice), &ebs.StartSnapshotInput{}, nil)
	yes := aws.Bool(true)
	tag := []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}
	calls := map[string]func(string) error{
		"DescribeSnapshots": func(x string) error {
			_, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{x}, DryRun: yes})
			return err
		},
		"DeleteSnapshot": func(x string) error {
			_, err := e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: &x, DryRun: yes})
			return err
		},
		"CopySnapshot": func(x string) error {
			_, err := e.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("us-east-1"), SourceSnapshotId: &x, DryRun: yes})
			return err
		},
		"CreateTags": func(x string) error {
			_, err := e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{x}, Tags: tag, DryRun: yes})
			return err
		},
		"DeleteTags": func(x string) error {
			_, err := e.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{x}, DryRun: yes})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			checkEC2Error(t, call(id), 412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
			checkEC2Error(t, call("snap-0123456789abcdef9"), 400, "InvalidSnapshot.NotFound", "")
		})
	}
	_, err := e.DescribeTags(ctx, &ec2.DescribeTagsInput{DryRun: yes})
	checkEC2Error(t, err, 412, "DryRunOperation", "")
	_, err = e.DescribeRegions(ctx, &ec2.DescribeRegionsInput{DryRun: yes})
	checkEC2Error(t, err, 412, "DryRunOperation", "")
	out, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{})
	if err != nil || len(out.Snapshots) != 1 || len(out.Snapshots[0].Tags) != 0 {
		t.Fatalf("after the dry runs: %v %+v", err, out)
	}
}

// TestEC2IdentityAndRegions: STS GetCallerIdentity and DescribeRegions,
// the first calls tools make, and the authentication errors of both APIs.
func TestEC2IdentityAndRegions(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	id, err := stsClient(s, ebstest.Bob).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != ebstest.Bob.AccountID || aws.ToString(id.Arn) != "arn:aws:iam::"+ebstest.Bob.AccountID+":root" ||
		aws.ToString(id.UserId) != ebstest.Bob.AccountID {
		t.Fatalf("identity %s %s %s", aws.ToString(id.Account), aws.ToString(id.Arn), aws.ToString(id.UserId))
	}
	regions, err := ec2Client(s, ebstest.Alice).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(regions.Regions) != 1 || aws.ToString(regions.Regions[0].RegionName) != "us-east-1" ||
		aws.ToString(regions.Regions[0].Endpoint) != strings.TrimPrefix(s.URL, "http://") {
		t.Fatalf("regions %+v", regions.Regions)
	}
	wrong := ebstest.Alice
	wrong.SecretAccessKey = "wrong"
	_, err = stsClient(s, wrong).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	checkEC2Error(t, err, 403, "SignatureDoesNotMatch", "")
	_, err = ec2Client(s, wrong).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	checkEC2Error(t, err, 403, "SignatureDoesNotMatch", "")
	wrong.AccessKeyID = "AKIANOBODY0000000000"
	_, err = stsClient(s, wrong).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	checkEC2Error(t, err, 403, "InvalidClientTokenId", "")
	_, err = ec2Client(s, wrong).DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{})
	checkEC2Error(t, err, 401, "AuthFailure", "")
	// The EBS direct routes are untouched by the EC2 listener.
	_, err = s.Client(ebstest.Alice).ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String("snap-0123456789abcdef9")})
	checkError(t, err, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "")
}
