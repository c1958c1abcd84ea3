package ec2api_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/ec2api"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// sdkError checks that err is the API error code with status, its message
// containing msg, as a Go SDK user sees it.
func sdkError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	var re *awshttp.ResponseError
	got := 0
	if errors.As(err, &re) {
		got = re.HTTPStatusCode()
		if re.ServiceRequestID() == "" {
			t.Fatalf("no request ID in %v", err)
		}
	}
	if got != status || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error %d %s %q, want %d %s containing %q", got, ae.ErrorCode(), ae.ErrorMessage(), status, code, msg)
	}
}

var (
	t0 = time.Date(2026, 9, 25, 15, 19, 43, 497e6, time.UTC)
	t1 = t0.Add(1500 * time.Millisecond)
)

// snapID returns the i-th test snapshot ID (17 hex digits, well formed).
func snapID(i int) string { return fmt.Sprintf("snap-%017x", 0x0a000+i) }

// TestSDKDescribeSnapshots: every member of a snapshot reaches the Go SDK
// as AWS sends it (docs/ec2-api.md §5.1.3), and the request reaches the
// service as the model means it.
func TestSDKDescribeSnapshots(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	full := snapshot.SnapshotInfo{
		SnapshotID: snapID(1), Status: ebs.StatusCompleted, Progress: "100%", StartTime: t0, CompleteTime: t1,
		VolumeSize: 1, Description: "a & b <c>", Tags: []ebs.Tag{{Key: "Name", Value: "web-1"}, {Key: "empty", Value: ""}},
		Encrypted: true, KMSKeyARN: "arn:aws:kms:us-east-1:111111111111:key/k", FullSizeBytes: 1048576,
	}
	failed := snapshot.SnapshotInfo{SnapshotID: snapID(2), Status: ebs.StatusError, StatusMsg: "Snapshot timed out", Progress: "0%", StartTime: t0, VolumeSize: 2}
	s.fake.add(aliceAccount, full)
	s.fake.add(aliceAccount, failed)
	c := s.ec2Client(aliceKey, aliceSecret)
	out, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Snapshots) != 2 || out.NextToken != nil {
		t.Fatalf("%d snapshots, token %v", len(out.Snapshots), out.NextToken)
	}
	a, b := out.Snapshots[0], out.Snapshots[1]
	want := types.Snapshot{
		SnapshotId: aws.String(snapID(1)), VolumeId: aws.String("vol-ffffffff"), State: types.SnapshotStateCompleted,
		StartTime: aws.Time(t0), Progress: aws.String("100%"), OwnerId: aws.String(aliceAccount), VolumeSize: aws.Int32(1),
		Description: aws.String("a & b <c>"), Encrypted: aws.Bool(true), KmsKeyId: aws.String("arn:aws:kms:us-east-1:111111111111:key/k"),
		Tags:        []types.Tag{{Key: aws.String("Name"), Value: aws.String("web-1")}, {Key: aws.String("empty"), Value: aws.String("")}},
		StorageTier: types.StorageTierStandard, TransferType: types.TransferTypeStandard,
		CompletionTime: aws.Time(t1), FullSnapshotSizeInBytes: aws.Int64(1048576),
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("snapshot =\n%s\nwant\n%s", show(a), show(want))
	}
	if b.State != types.SnapshotStateError || aws.ToString(b.StateMessage) != "Snapshot timed out" || b.Tags != nil ||
		b.CompletionTime != nil || b.FullSnapshotSizeInBytes != nil || b.KmsKeyId != nil || aws.ToString(b.Description) != "" {
		t.Errorf("failed snapshot = %s", show(b))
	}

	in, _ := last[snapshot.DescribeInput](s.fake)
	if in.AccountID != aliceAccount || in.SnapshotIDs != nil || in.MaxResults != nil || in.NextToken != nil || in.Match != nil || in.Selection != `owner "self"` {
		t.Errorf("service input = %+v", in)
	}

	// Named IDs, in the order given.
	out, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapID(2), snapID(1)}})
	if err != nil || len(out.Snapshots) != 2 {
		t.Fatalf("by ID: %v", err)
	}
	if in, _ := last[snapshot.DescribeInput](s.fake); !slices.Equal(in.SnapshotIDs, []string{snapID(2), snapID(1)}) || in.Match != nil {
		t.Errorf("service input = %+v", in)
	}
	// Bob sees nothing of Alice's; Owner of another account selects nothing.
	out, err = s.ec2Client(bobKey, bobSecret).DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{})
	if err != nil || len(out.Snapshots) != 0 {
		t.Fatalf("Bob: %v, %d snapshots", err, len(out.Snapshots))
	}
	out, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{bobAccount}})
	if err != nil || len(out.Snapshots) != 0 {
		t.Fatalf("Owner Bob: %v, %d snapshots", err, len(out.Snapshots))
	}
}

func show(s types.Snapshot) string {
	var b strings.Builder
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			f = f.Elem()
		}
		fmt.Fprintf(&b, " %s=%v", v.Type().Field(i).Name, f)
	}
	return b.String()
}

// TestSDKFiltersOrder: Go's SDK sorts the form's keys as strings, so
// Filter.10 and Filter.11 come before Filter.2. Eleven filters, all of
// which must hold, select the snapshot only if each is read with its own
// values.
func TestSDKFiltersOrder(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	var tags []ebs.Tag
	var filters []types.Filter
	for i := 1; i <= 11; i++ {
		k, v := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		tags = append(tags, ebs.Tag{Key: k, Value: v})
		filters = append(filters, types.Filter{Name: aws.String("tag:" + k), Values: []string{"x", v}})
	}
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(1), Status: ebs.StatusCompleted, StartTime: t0, Tags: tags})
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(2), Status: ebs.StatusCompleted, StartTime: t0, Tags: tags[:10]})
	c := s.ec2Client(aliceKey, aliceSecret)
	out, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Snapshots) != 1 || *out.Snapshots[0].SnapshotId != snapID(1) {
		t.Fatalf("%d snapshots", len(out.Snapshots))
	}
	// Wildcards and escapes through the SDK's encoding.
	for pattern, n := range map[string]int{"v1*": 2, "v?": 2, "v1?": 0, "?1": 2, `v\*`: 0, "*": 2} {
		out, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{Filters: []types.Filter{{Name: aws.String("tag:k1"), Values: []string{pattern}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Snapshots) != n {
			t.Errorf("tag:k1=%s: %d snapshots, want %d", pattern, len(out.Snapshots), n)
		}
	}
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{Filters: []types.Filter{{Name: aws.String("size"), Values: []string{"1"}}}})
	sdkError(t, err, 400, "InvalidParameterValue", "The filter 'size' is invalid")
}

// TestSDKPagination: MaxResults 5 over 12 snapshots is three pages of the
// paginator, 5, 5 and 2; a token is refused with other filters.
func TestSDKPagination(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	for i := range 12 {
		s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(i), Status: ebs.StatusCompleted, StartTime: t0,
			Tags: []ebs.Tag{{Key: "n", Value: fmt.Sprint(i)}}})
	}
	c := s.ec2Client(aliceKey, aliceSecret)
	in := &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(5),
		Filters: []types.Filter{{Name: aws.String("status"), Values: []string{"completed"}}}}
	p := ec2.NewDescribeSnapshotsPaginator(c, in)
	var sizes []int
	var ids []string
	var firstToken string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.Snapshots))
		for _, sn := range page.Snapshots {
			ids = append(ids, *sn.SnapshotId)
		}
		if firstToken == "" && page.NextToken != nil {
			firstToken = *page.NextToken
		}
	}
	if !slices.Equal(sizes, []int{5, 5, 2}) || len(ids) != 12 || !slices.IsSorted(ids) {
		t.Fatalf("pages %v, %d IDs", sizes, len(ids))
	}
	_, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(5), NextToken: &firstToken,
		Filters: []types.Filter{{Name: aws.String("status"), Values: []string{"pending", "completed"}}}})
	sdkError(t, err, 400, "InvalidPaginationToken", "")
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{MaxResults: aws.Int32(4)})
	sdkError(t, err, 400, "InvalidParameterValue", "maxResults")
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{MaxResults: aws.Int32(5), SnapshotIds: []string{snapID(1)}})
	sdkError(t, err, 400, "InvalidParameterCombination", "")

	// DescribeTags pages the same way.
	tp := ec2.NewDescribeTagsPaginator(c, &ec2.DescribeTagsInput{MaxResults: aws.Int32(5),
		Filters: []types.Filter{{Name: aws.String("key"), Values: []string{"n"}}}})
	var tags int
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range page.Tags {
			if tg.ResourceType != types.ResourceTypeSnapshot || tg.ResourceId == nil || aws.ToString(tg.Key) != "n" {
				t.Fatalf("tag %+v", tg)
			}
		}
		tags += len(page.Tags)
	}
	if tags != 12 {
		t.Fatalf("%d tags", tags)
	}
}

// TestSDKErrors: the documented errors of each action reach the Go SDK
// with their code and status.
func TestSDKErrors(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(1), Status: ebs.StatusCompleted, StartTime: t0})
	c := s.ec2Client(aliceKey, aliceSecret)
	_, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapID(9)}})
	sdkError(t, err, 400, "InvalidSnapshot.NotFound", "The snapshot '"+snapID(9)+"' does not exist.")
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String("snap-123")})
	sdkError(t, err, 400, "InvalidSnapshotID.Malformed", `Invalid id: "snap-123"`)
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String("vol-1")})
	sdkError(t, err, 400, "InvalidParameterValue", "")
	_, err = s.ec2Client(bobKey, bobSecret).DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snapID(1))})
	sdkError(t, err, 400, "InvalidSnapshot.NotFound", "")
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{snapID(9)}, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	sdkError(t, err, 400, "InvalidSnapshot.NotFound", "")
	_, err = c.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("us-east-1"), SourceSnapshotId: aws.String(snapID(1)),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}}})
	sdkError(t, err, 400, "InvalidParameterValue", "'volume' is not a valid taggable resource type")
	_, err = c.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("us-east-1"), SourceSnapshotId: aws.String(snapID(1)),
		DestinationOutpostArn: aws.String("arn:aws:outposts:us-east-1:111111111111:outpost/op-1")})
	sdkError(t, err, 400, "InvalidParameterValue", "DestinationOutpostArn")
	_, err = c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"eu-west-1"}})
	sdkError(t, err, 400, "InvalidParameterValue", "eu-west-1")

	// The service's internal error is sent without its cause.
	s.fake.setErr(ebs.Wrap("DescribeSnapshots", ebs.KindInternal, errors.New("secret detail"), "pebble broke"))
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{})
	sdkError(t, err, 500, "InternalError", "An internal error has occurred")
	if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "pebble") {
		t.Fatalf("the cause reached the client: %v", err)
	}
	s.fake.setErr(ebs.E("DescribeSnapshots", ebs.KindUnavailable, "", "The server is shutting down."))
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{})
	sdkError(t, err, 503, "Unavailable", "shutting down")
}

// TestSDKDryRun: DryRun answers DryRunOperation (412) when the request
// would succeed, changes nothing, and still gives the errors the action
// would give.
func TestSDKDryRun(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(1), Status: ebs.StatusCompleted, StartTime: t0})
	c := s.ec2Client(aliceKey, aliceSecret)
	yes := aws.Bool(true)
	tag := []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}
	calls := []struct {
		name string
		call func(id string) error
	}{
		{"DescribeSnapshots", func(id string) error {
			_, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}, DryRun: yes})
			return err
		}},
		{"DeleteSnapshot", func(id string) error {
			_, err := c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: &id, DryRun: yes})
			return err
		}},
		{"CopySnapshot", func(id string) error {
			_, err := c.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("us-east-1"), SourceSnapshotId: &id, DryRun: yes})
			return err
		}},
		{"CreateTags", func(id string) error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: tag, DryRun: yes})
			return err
		}},
		{"DeleteTags", func(id string) error {
			_, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, DryRun: yes})
			return err
		}},
	}
	for _, cl := range calls {
		sdkError(t, cl.call(snapID(1)), 412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
		err := cl.call(snapID(9))
		sdkError(t, err, 400, "InvalidSnapshot.NotFound", snapID(9))
	}
	for _, in := range s.fake.calls() {
		if _, ok := in.(snapshot.DescribeInput); !ok {
			t.Fatalf("a dry run reached the service with %T", in)
		}
	}
	_, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{DryRun: yes})
	sdkError(t, err, 412, "DryRunOperation", "")
	_, err = c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{DryRun: yes})
	sdkError(t, err, 412, "DryRunOperation", "")
}

// TestSDKTags: CreateTags, DeleteTags with its three cases, DescribeTags.
func TestSDKTags(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(1), Status: ebs.StatusCompleted, StartTime: t0})
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(2), Status: ebs.StatusCompleted, StartTime: t0})
	c := s.ec2Client(aliceKey, aliceSecret)
	tg := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{snapID(1), snapID(2)},
		Tags: []types.Tag{tg("a", "1"), tg("b", ""), tg("c", "v"), tg("d", "x"), {Key: aws.String("e")}}})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := last[snapshot.TagsInput](s.fake)
	if want := []ebs.Tag{{Key: "a", Value: "1"}, {Key: "b"}, {Key: "c", Value: "v"}, {Key: "d", Value: "x"}, {Key: "e"}}; !reflect.DeepEqual(in.Tags, want) ||
		!slices.Equal(in.ResourceIDs, []string{snapID(1), snapID(2)}) {
		t.Fatalf("CreateTags input %+v", in)
	}
	// a: any value; b: only if empty (it is); c: only if "w" (it is not);
	// d: only if "x" (it is).
	_, err = c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{snapID(1)},
		Tags: []types.Tag{{Key: aws.String("a")}, tg("b", ""), tg("c", "w"), tg("d", "x")}})
	if err != nil {
		t.Fatal(err)
	}
	un, _ := last[snapshot.UntagInput](s.fake)
	if len(un.Tags) != 4 || un.Tags[0].Value != nil || un.Tags[1].Value == nil || *un.Tags[1].Value != "" || *un.Tags[2].Value != "w" {
		t.Fatalf("DeleteTags input %+v", un)
	}
	out, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{snapID(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, x := range out.Tags {
		keys = append(keys, aws.ToString(x.Key)+"="+aws.ToString(x.Value))
	}
	if !slices.Equal(keys, []string{"c=v", "e="}) {
		t.Fatalf("tags left on %s: %v", snapID(1), keys)
	}
	// No Tag at all deletes every tag.
	_, err = c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{snapID(2)}})
	if err != nil {
		t.Fatal(err)
	}
	if un, _ := last[snapshot.UntagInput](s.fake); un.Tags != nil {
		t.Fatalf("DeleteTags without tags: %+v", un)
	}
	out, err = c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{snapID(2)}}}})
	if err != nil || len(out.Tags) != 0 {
		t.Fatalf("%v, %d tags left", err, len(out.Tags))
	}
}

// TestSDKCopySnapshot: the Go SDK adds PresignedUrl and DestinationRegion
// on its own; they are ignored, and the members of the copy reach the
// service.
func TestSDKCopySnapshot(t *testing.T) {
	s := startServer(t, ec2api.Options{Region: "eu-west-3"})
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(1), Status: ebs.StatusCompleted, StartTime: t0, Description: "src"})
	c := ec2.NewFromConfig(awsConfig(aliceKey, aliceSecret), func(o *ec2.Options) {
		o.BaseEndpoint, o.Region, o.RetryMaxAttempts = aws.String(s.URL), "eu-west-3", 1
	})
	out, err := c.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("eu-west-3"), SourceSnapshotId: aws.String(snapID(1)),
		Description: aws.String("copy"), Encrypted: aws.Bool(true), KmsKeyId: aws.String("alias/aws/ebs"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(out.SnapshotId), "snap-") || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "k" {
		t.Fatalf("output %+v", out)
	}
	in, _ := last[snapshot.CopyInput](s.fake)
	if in.AccountID != aliceAccount || in.Region != "eu-west-3" || aws.ToString(in.SourceRegion) != "eu-west-3" ||
		aws.ToString(in.SourceSnapshotID) != snapID(1) || aws.ToString(in.Description) != "copy" || !aws.ToBool(in.Encrypted) ||
		aws.ToString(in.KMSKeyID) != "alias/aws/ebs" || !reflect.DeepEqual(in.Tags, []ebs.Tag{{Key: "k", Value: "v"}}) {
		t.Fatalf("CopyInput %+v", in)
	}
	out, err = c.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("eu-west-3"), SourceSnapshotId: aws.String(snapID(1))})
	if err != nil || len(out.Tags) != 0 {
		t.Fatalf("plain copy: %v, %+v", err, out)
	}
	if in, _ := last[snapshot.CopyInput](s.fake); in.Description != nil || in.Encrypted != nil || in.KMSKeyID != nil || in.Tags != nil {
		t.Fatalf("absent members reached the service: %+v", in)
	}
}

// TestSDKWaiter: the SnapshotCompleted waiter polls DescribeSnapshots until
// the snapshot is completed, and fails on error.
func TestSDKWaiter(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(1), Status: ebs.StatusPending, Progress: "0%", StartTime: t0})
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: snapID(2), Status: ebs.StatusError, StartTime: t0})
	c := s.ec2Client(aliceKey, aliceSecret)
	go func() {
		time.Sleep(100 * time.Millisecond)
		s.fake.mu.Lock()
		s.fake.snaps[aliceAccount][0].Status = ebs.StatusCompleted
		s.fake.mu.Unlock()
	}()
	w := ec2.NewSnapshotCompletedWaiter(c, func(o *ec2.SnapshotCompletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapID(1)}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapID(2)}}, 10*time.Second); err == nil {
		t.Fatal("waiting for a failed snapshot succeeded")
	}
}

// TestSDKIdentityAndRegions: the first calls tools make.
func TestSDKIdentityAndRegions(t *testing.T) {
	s := startServer(t, ec2api.Options{Region: "ap-south-2"})
	for _, who := range []struct{ key, secret, account string }{{aliceKey, aliceSecret, aliceAccount}, {bobKey, bobSecret, bobAccount}} {
		id, err := s.stsClient(who.key, who.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(id.Account) != who.account || aws.ToString(id.UserId) != who.account || aws.ToString(id.Arn) != "arn:aws:iam::"+who.account+":root" {
			t.Fatalf("identity %s %s %s", aws.ToString(id.Account), aws.ToString(id.UserId), aws.ToString(id.Arn))
		}
	}
	_, err := s.stsClient("AKIANOBODY0000000000", "x").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	sdkError(t, err, 403, "InvalidClientTokenId", "")
	_, err = s.stsClient(aliceKey, "wrong").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	sdkError(t, err, 403, "SignatureDoesNotMatch", "")
	_, err = s.ec2Client("AKIANOBODY0000000000", "x").DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	sdkError(t, err, 401, "AuthFailure", "")

	out, err := s.ec2Client(aliceKey, aliceSecret).DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(s.URL, "http://")
	if len(out.Regions) != 1 || aws.ToString(out.Regions[0].RegionName) != "ap-south-2" ||
		aws.ToString(out.Regions[0].Endpoint) != host || aws.ToString(out.Regions[0].OptInStatus) != "opt-in-not-required" {
		t.Fatalf("regions %+v", out.Regions)
	}
	out, err = s.ec2Client(aliceKey, aliceSecret).DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"ap-south-2"},
		Filters: []types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"opted-in"}}}})
	if err != nil || len(out.Regions) != 0 {
		t.Fatalf("filtered: %v, %+v", err, out.Regions)
	}
}
