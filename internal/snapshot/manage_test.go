package snapshot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

const (
	otherAccount = "444455556666"
	region       = "us-east-1"
)

// completed starts a snapshot (of parent, if any), writes blocks, and
// completes it.
func (f *fixture) completed(t *testing.T, parent string, blocks map[int][]byte, tags ...ebs.Tag) string {
	t.Helper()
	in := snapshot.StartInput{Tags: tags}
	if parent != "" {
		in.ParentSnapshotID = &parent
	}
	id := f.start(t, in)
	f.mustPut(t, id, blocks)
	if st := f.complete(t, id, len(blocks), ""); st != ebs.StatusCompleted {
		t.Fatalf("complete %s: %s", id, st)
	}
	return id
}

func (f *fixture) describe(t *testing.T, in snapshot.DescribeInput) []snapshot.SnapshotInfo {
	t.Helper()
	if in.AccountID == "" {
		in.AccountID = account
	}
	out, err := f.svc.DescribeSnapshots(context.Background(), in)
	if err != nil {
		t.Fatalf("DescribeSnapshots: %v", err)
	}
	return out.Snapshots
}

func ids(infos []snapshot.SnapshotInfo) []string {
	var out []string
	for _, i := range infos {
		out = append(out, i.SnapshotID)
	}
	return out
}

func TestDescribeSnapshots(t *testing.T) {
	f := newFixture(t)
	a := f.completed(t, "", map[int][]byte{0: payload("a"), 1: payload("b")}, ebs.Tag{Key: "k", Value: "v"})
	b := f.completed(t, a, map[int][]byte{1: payload("c"), 5: payload("d")})
	pending := f.start(t, snapshot.StartInput{Description: p("in progress")})

	all := f.describe(t, snapshot.DescribeInput{})
	want := []string{a, b, pending}
	slices.Sort(want)
	if got := ids(all); !slices.Equal(got, want) {
		t.Fatalf("all = %v, want %v (ascending IDs)", got, want)
	}
	byID := map[string]snapshot.SnapshotInfo{}
	for _, i := range all {
		byID[i.SnapshotID] = i
	}
	if i := byID[a]; i.Status != ebs.StatusCompleted || i.Progress != "100%" || i.VolumeID != "vol-ffffffff" ||
		i.FullSizeBytes != 2*ebs.BlockSize || len(i.Tags) != 1 || i.CompleteTime.IsZero() || i.OwnerID != account {
		t.Errorf("a = %+v", i)
	}
	// b's view: inherited 0, own 1 and 5.
	if i := byID[b]; i.FullSizeBytes != 3*ebs.BlockSize {
		t.Errorf("b FullSizeBytes = %d, want %d", i.FullSizeBytes, 3*ebs.BlockSize)
	}
	if i := byID[pending]; i.Status != ebs.StatusPending || i.Progress != "0%" || i.Description != "in progress" || i.FullSizeBytes != 0 {
		t.Errorf("pending = %+v", i)
	}

	// Other accounts see nothing, and naming the snapshot is NotFound.
	if got := f.describe(t, snapshot.DescribeInput{AccountID: otherAccount}); len(got) != 0 {
		t.Errorf("other account sees %v", ids(got))
	}
	_, err := f.svc.DescribeSnapshots(context.Background(), snapshot.DescribeInput{AccountID: otherAccount, SnapshotIDs: []string{a}})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "does not exist")

	// Match filters, also over named IDs.
	got := f.describe(t, snapshot.DescribeInput{Match: func(i snapshot.SnapshotInfo) bool { return i.Status == ebs.StatusPending }})
	if !slices.Equal(ids(got), []string{pending}) {
		t.Errorf("pending filter = %v", ids(got))
	}
	got = f.describe(t, snapshot.DescribeInput{SnapshotIDs: []string{b, a, b}})
	if len(got) != 2 {
		t.Errorf("named = %v", ids(got))
	}
}

func TestDescribeSnapshotsErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		in     snapshot.DescribeInput
		reason ebs.Reason
		msg    string
	}{
		{"malformed", snapshot.DescribeInput{SnapshotIDs: []string{"snap-0123"}}, ebs.ReasonMalformedSnapshotID, `Invalid id: "snap-0123"`},
		{"not an id", snapshot.DescribeInput{SnapshotIDs: []string{"snap-0400DC0055E85B9BF"}}, ebs.ReasonInvalidParameterValue, "Expected: 'snap-...'"},
		{"ids with max", snapshot.DescribeInput{SnapshotIDs: []string{"snap-0123456789abcdef0"}, MaxResults: p(int64(5))}, ebs.ReasonInvalidParameterCombination, "maxResults"},
		{"max too small", snapshot.DescribeInput{MaxResults: p(int64(4))}, ebs.ReasonInvalidParameterValue, "maxResults"},
		{"bad token", snapshot.DescribeInput{NextToken: p("nope")}, ebs.ReasonInvalidPageToken, "pagination token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.AccountID = account
			_, err := f.svc.DescribeSnapshots(ctx, tc.in)
			wantKind(t, err, ebs.KindInvalid, tc.reason, tc.msg)
		})
	}
	_, err := f.svc.DescribeSnapshots(ctx, snapshot.DescribeInput{AccountID: account, SnapshotIDs: []string{"snap-0123456789abcdef0"}})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "snap-0123456789abcdef0")
}

func TestDescribeSnapshotsPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var want []string
	for range 12 {
		want = append(want, f.start(t, snapshot.StartInput{}))
	}
	slices.Sort(want)
	sel := "none"
	var got []string
	var next *string
	pages := 0
	for {
		out, err := f.svc.DescribeSnapshots(ctx, snapshot.DescribeInput{AccountID: account, MaxResults: p(int64(5)), NextToken: next, Selection: sel})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, ids(out.Snapshots)...)
		if out.NextToken == "" {
			break
		}
		if pages == 1 {
			// The token is bound to the selection and the account.
			_, err := f.svc.DescribeSnapshots(ctx, snapshot.DescribeInput{AccountID: account, MaxResults: p(int64(5)), NextToken: &out.NextToken, Selection: "other"})
			wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidPageToken, "")
			_, err = f.svc.DescribeSnapshots(ctx, snapshot.DescribeInput{AccountID: otherAccount, MaxResults: p(int64(5)), NextToken: &out.NextToken, Selection: sel})
			wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidPageToken, "")
		}
		next = &out.NextToken
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages, got %v, want %v", pages, got, want)
	}
	// Exactly a page's worth: no token on the last page.
	out, err := f.svc.DescribeSnapshots(ctx, snapshot.DescribeInput{AccountID: account, MaxResults: p(int64(12))})
	if err != nil || len(out.Snapshots) != 12 || out.NextToken != "" {
		t.Fatalf("MaxResults 12: %d snapshots, token %q, %v", len(out.Snapshots), out.NextToken, err)
	}
	// Above 1000 is 1000, not an error.
	if _, err := f.svc.DescribeSnapshots(ctx, snapshot.DescribeInput{AccountID: account, MaxResults: p(int64(5000))}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteSnapshot(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	parent := f.completed(t, "", map[int][]byte{0: payload("p0"), 1: payload("p1")})
	child := f.completed(t, parent, map[int][]byte{1: payload("c1")})
	before := f.list(t, child)

	// Another account cannot delete it.
	err := f.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: otherAccount, SnapshotID: &parent})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, parent)

	if err := f.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: account, SnapshotID: &parent}); err != nil {
		t.Fatal(err)
	}
	err = f.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: account, SnapshotID: &parent})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, parent)

	// Gone from every call...
	_, err = f.svc.ListSnapshotBlocks(ctx, snapshot.ListBlocksInput{AccountID: account, SnapshotID: parent})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
	_, err = f.svc.ListChangedBlocks(ctx, snapshot.ListChangedInput{AccountID: account, FirstSnapshotID: &parent, SecondSnapshotID: child})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
	_, err = f.svc.StartSnapshot(ctx, snapshot.StartInput{AccountID: account, VolumeSize: p(int64(1)), ParentSnapshotID: &parent})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
	if got := ids(f.describe(t, snapshot.DescribeInput{})); !slices.Equal(got, []string{child}) {
		t.Errorf("describe after delete = %v", got)
	}
	// ...while the child reads all it inherited, with its old tokens.
	after := f.list(t, child)
	if len(after) != 2 {
		t.Fatalf("child lists %d blocks, want 2", len(after))
	}
	for i, tok := range before {
		want := map[int32]string{0: "p0", 1: "c1"}[i]
		if got := f.get(t, child, i, tok); string(got[:40]) != string(payload(want)[:40]) {
			t.Errorf("child block %d changed after its parent was deleted", i)
		}
	}
}

func TestDeletePendingSnapshot(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.start(t, snapshot.StartInput{})
	f.mustPut(t, id, map[int][]byte{0: payload("x")})
	if err := f.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: account, SnapshotID: &id}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.put(id, 1, payload("y")), ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
	_, err := f.svc.CompleteSnapshot(ctx, snapshot.CompleteInput{AccountID: account, SnapshotID: id, ChangedBlocksCount: p("1")})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
	n, err := f.svc.PendingSnapshots(ctx)
	if err != nil || n != 0 {
		t.Errorf("PendingSnapshots = %d, %v; a deleted snapshot is not pending", n, err)
	}
}

func TestTags(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.completed(t, "", nil, ebs.Tag{Key: "keep", Value: "1"}, ebs.Tag{Key: "over", Value: "old"})
	b := f.completed(t, "", nil)
	tagsOf := func(id string) map[string]string {
		m := map[string]string{}
		for _, tg := range f.describe(t, snapshot.DescribeInput{SnapshotIDs: []string{id}})[0].Tags {
			m[tg.Key] = tg.Value
		}
		return m
	}
	if err := f.svc.CreateTags(ctx, snapshot.TagsInput{AccountID: account, ResourceIDs: []string{a, b},
		Tags: []ebs.Tag{{Key: "over", Value: "new"}, {Key: "empty", Value: ""}}}); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(a); fmt.Sprint(got) != fmt.Sprint(map[string]string{"keep": "1", "over": "new", "empty": ""}) {
		t.Errorf("a tags = %v", got)
	}
	// All or nothing: one unknown resource changes none.
	err := f.svc.CreateTags(ctx, snapshot.TagsInput{AccountID: account, ResourceIDs: []string{b, "snap-0123456789abcdef0"}, Tags: []ebs.Tag{{Key: "z", Value: "z"}}})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
	if _, ok := tagsOf(b)["z"]; ok {
		t.Error("a failed CreateTags changed a snapshot")
	}
	for _, tc := range []struct {
		name   string
		in     snapshot.TagsInput
		reason ebs.Reason
	}{
		{"aws prefix", snapshot.TagsInput{ResourceIDs: []string{a}, Tags: []ebs.Tag{{Key: "aws:x"}}}, ebs.ReasonInvalidParameterValue},
		{"not a snapshot", snapshot.TagsInput{ResourceIDs: []string{"vol-12345678"}, Tags: []ebs.Tag{{Key: "x"}}}, ebs.ReasonInvalidResourceID},
		{"no tags", snapshot.TagsInput{ResourceIDs: []string{a}}, ebs.ReasonMissingParameter},
		{"no resources", snapshot.TagsInput{Tags: []ebs.Tag{{Key: "x"}}}, ebs.ReasonMissingParameter},
		{"long value", snapshot.TagsInput{ResourceIDs: []string{a}, Tags: []ebs.Tag{{Key: "x", Value: strings.Repeat("v", 257)}}}, ebs.ReasonInvalidParameterValue},
		{"too many", snapshot.TagsInput{ResourceIDs: []string{a}, Tags: manyTags(48)}, ebs.ReasonTagLimitExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.AccountID = account
			wantKind(t, f.svc.CreateTags(ctx, tc.in), ebs.KindInvalid, tc.reason, "")
		})
	}

	// DeleteTags: key only, key with matching value, key with other value.
	if err := f.svc.DeleteTags(ctx, snapshot.UntagInput{AccountID: account, ResourceIDs: []string{a}, Tags: []snapshot.TagMatch{
		{Key: "keep", Value: p("not-1")}, {Key: "over"}, {Key: "empty", Value: p("")},
	}}); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(a); fmt.Sprint(got) != fmt.Sprint(map[string]string{"keep": "1"}) {
		t.Errorf("after DeleteTags: %v", got)
	}
	if err := f.svc.DeleteTags(ctx, snapshot.UntagInput{AccountID: account, ResourceIDs: []string{a}}); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(a); len(got) != 0 {
		t.Errorf("after DeleteTags of all: %v", got)
	}
}

func TestDescribeTags(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var want []string
	for i := range 4 {
		id := f.completed(t, "", nil, ebs.Tag{Key: "a", Value: fmt.Sprint(i)}, ebs.Tag{Key: "b", Value: "x"}, ebs.Tag{Key: "c", Value: "y"})
		want = append(want, id+"/a", id+"/b", id+"/c")
	}
	slices.Sort(want)
	var got []string
	var next *string
	for pages := 0; ; pages++ {
		out, err := f.svc.DescribeTags(ctx, snapshot.DescribeTagsInput{AccountID: account, MaxResults: p(int64(5)), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tags) == 0 && out.NextToken != "" {
			t.Fatal("an empty page with a token")
		}
		for _, tg := range out.Tags {
			got = append(got, tg.ResourceID+"/"+tg.Key)
		}
		if out.NextToken == "" {
			break
		}
		next = &out.NextToken
	}
	if !slices.Equal(got, want) {
		t.Fatalf("DescribeTags = %v, want %v", got, want)
	}
	out, err := f.svc.DescribeTags(ctx, snapshot.DescribeTagsInput{AccountID: account, Match: func(i snapshot.TagInfo) bool { return i.Key == "a" }})
	if err != nil || len(out.Tags) != 4 {
		t.Fatalf("filtered: %v, %v", out, err)
	}
	out, err = f.svc.DescribeTags(ctx, snapshot.DescribeTagsInput{AccountID: otherAccount})
	if err != nil || len(out.Tags) != 0 {
		t.Fatalf("other account: %v, %v", out, err)
	}
}

func TestCopySnapshotLineage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	src := f.completed(t, "", map[int][]byte{0: payload("s0"), 3: payload("s3")}, ebs.Tag{Key: "src", Value: "1"})
	out, err := f.svc.CopySnapshot(ctx, snapshot.CopyInput{AccountID: account, Region: region, SourceRegion: p(region),
		SourceSnapshotID: &src, Description: p("copy"), Tags: []ebs.Tag{{Key: "copy", Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	cp := out.SnapshotID
	info := f.describe(t, snapshot.DescribeInput{SnapshotIDs: []string{cp}})[0]
	if info.Status != ebs.StatusCompleted || info.Description != "copy" || len(info.Tags) != 1 || info.Tags[0].Key != "copy" ||
		info.FullSizeBytes != 2*ebs.BlockSize || info.VolumeSize != 1 {
		t.Errorf("copy = %+v", info)
	}
	// In the source's lineage, with no changes between them (AWS).
	ch, err := f.svc.ListChangedBlocks(ctx, snapshot.ListChangedInput{AccountID: account, FirstSnapshotID: &src, SecondSnapshotID: cp})
	if err != nil || len(ch.ChangedBlocks) != 0 {
		t.Fatalf("ListChangedBlocks(src, copy) = %v, %v", ch, err)
	}
	// A CompleteSnapshot on a copy is 404, as on AWS.
	_, err = f.svc.CompleteSnapshot(ctx, snapshot.CompleteInput{AccountID: account, SnapshotID: cp, ChangedBlocksCount: p("0")})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
	// The copy reads the same after its source is deleted.
	if err := f.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: account, SnapshotID: &src}); err != nil {
		t.Fatal(err)
	}
	blocks := f.list(t, cp)
	if len(blocks) != 2 || string(f.get(t, cp, 3, blocks[3])[:30]) != string(payload("s3")[:30]) {
		t.Fatalf("copy after source delete: %d blocks", len(blocks))
	}
	// Errors.
	for _, tc := range []struct {
		name   string
		in     snapshot.CopyInput
		kind   ebs.Kind
		reason ebs.Reason
	}{
		{"deleted source", snapshot.CopyInput{SourceSnapshotID: &src, SourceRegion: p(region)}, ebs.KindNotFound, ebs.ReasonSnapshotNotFound},
		{"other region", snapshot.CopyInput{SourceSnapshotID: &cp, SourceRegion: p("eu-west-1")}, ebs.KindInvalid, ebs.ReasonInvalidParameterValue},
		{"no source", snapshot.CopyInput{SourceRegion: p(region)}, ebs.KindInvalid, ebs.ReasonMissingParameter},
		{"no region", snapshot.CopyInput{SourceSnapshotID: &cp}, ebs.KindInvalid, ebs.ReasonMissingParameter},
		{"key without encrypted", snapshot.CopyInput{SourceSnapshotID: &cp, SourceRegion: p(region), KMSKeyID: p("x")}, ebs.KindInvalid, ebs.ReasonInvalidParameterValue},
		{"unknown key", snapshot.CopyInput{SourceSnapshotID: &cp, SourceRegion: p(region), Encrypted: p(true), KMSKeyID: p("1234abcd-12ab-34cd-56ef-1234567890ab")}, ebs.KindInvalid, ebs.ReasonInvalidParameterValue},
		{"other account's key", snapshot.CopyInput{SourceSnapshotID: &cp, SourceRegion: p(region), Encrypted: p(true), KMSKeyID: p("arn:aws:kms:us-east-1:444455556666:key/x")}, ebs.KindAccessDenied, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.AccountID, tc.in.Region = account, region
			_, err := f.svc.CopySnapshot(ctx, tc.in)
			wantKind(t, err, tc.kind, tc.reason, "")
		})
	}
	_, err = f.svc.CopySnapshot(ctx, snapshot.CopyInput{AccountID: otherAccount, Region: region, SourceRegion: p(region), SourceSnapshotID: &cp})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
}

// TestCopySnapshotReseal copies a plain snapshot encrypted: a job seals
// every block under a new key, and the copy completes with the same data.
func TestCopySnapshotReseal(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { f.svc.Run(ctx); close(runDone) }()
	defer func() { cancel(); <-runDone }()

	blocks := map[int][]byte{}
	for i := range 40 {
		blocks[i*3] = payload(fmt.Sprint("r", i))
	}
	blocks[200] = zero()
	src := f.completed(t, "", blocks)
	out, err := f.svc.CopySnapshot(ctx, snapshot.CopyInput{AccountID: account, Region: region, SourceRegion: p(region), SourceSnapshotID: &src, Encrypted: p(true)})
	if err != nil {
		t.Fatal(err)
	}
	cp := out.SnapshotID
	var info snapshot.SnapshotInfo
	for deadline := time.Now().Add(10 * time.Second); ; {
		info = f.describe(t, snapshot.DescribeInput{SnapshotIDs: []string{cp}})[0]
		if info.Status != ebs.StatusPending || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if info.Status != ebs.StatusCompleted || !info.Encrypted || info.KMSKeyARN == "" || info.FullSizeBytes != int64(len(blocks))*ebs.BlockSize {
		t.Fatalf("copy = %+v", info)
	}
	// A new lineage: unrelated to its source.
	_, err = f.svc.ListChangedBlocks(ctx, snapshot.ListChangedInput{AccountID: account, FirstSnapshotID: &src, SecondSnapshotID: cp})
	wantKind(t, err, ebs.KindInvalid, ebs.ReasonUnrelatedSnapshots, "")
	toks := f.list(t, cp)
	if len(toks) != len(blocks) {
		t.Fatalf("copy lists %d blocks, want %d", len(toks), len(blocks))
	}
	for i, want := range blocks {
		if got := f.get(t, cp, int32(i), toks[int32(i)]); string(got) != string(want) {
			t.Fatalf("block %d differs", i)
		}
	}
}

// TestCopySnapshotRewrap copies an encrypted snapshot under another KMS
// key: the copy shares the source's blocks (a lineage child, completed at
// once) and reads them with the data key re-wrapped under its own key.
func TestCopySnapshotRewrap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := "arn:aws:kms:us-east-1:" + account + ":key/5678abcd-12ab-34cd-56ef-1234567890ab"
	if err := f.keys.Add(other); err != nil {
		t.Fatal(err)
	}
	src := f.start(t, snapshot.StartInput{Encrypted: p(true)})
	blocks := map[int][]byte{0: payload("e0"), 9: payload("e9")}
	f.mustPut(t, src, blocks)
	if st := f.complete(t, src, 2, ""); st != ebs.StatusCompleted {
		t.Fatal(st)
	}
	for _, tc := range []struct {
		name string
		in   snapshot.CopyInput
		key  string // "" = the source's (the account's default)
	}{
		{"other key", snapshot.CopyInput{Encrypted: p(true), KMSKeyID: p(other)}, other},
		{"other key by id", snapshot.CopyInput{Encrypted: p(true), KMSKeyID: p("5678abcd-12ab-34cd-56ef-1234567890ab")}, other},
		{"default key", snapshot.CopyInput{}, ""},
		{"encrypted=false still encrypted", snapshot.CopyInput{Encrypted: p(false)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.AccountID, in.Region, in.SourceRegion, in.SourceSnapshotID = account, region, p(region), &src
			out, err := f.svc.CopySnapshot(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			info := f.describe(t, snapshot.DescribeInput{SnapshotIDs: []string{out.SnapshotID}})[0]
			srcInfo := f.describe(t, snapshot.DescribeInput{SnapshotIDs: []string{src}})[0]
			want := tc.key
			if want == "" {
				want = srcInfo.KMSKeyARN
			}
			if info.Status != ebs.StatusCompleted || !info.Encrypted || info.KMSKeyARN != want {
				t.Fatalf("copy = %+v, want completed under %s", info, want)
			}
			ch, err := f.svc.ListChangedBlocks(ctx, snapshot.ListChangedInput{AccountID: account, FirstSnapshotID: &src, SecondSnapshotID: out.SnapshotID})
			if err != nil || len(ch.ChangedBlocks) != 0 {
				t.Fatalf("ListChangedBlocks(src, copy) = %v, %v", ch, err)
			}
			toks := f.list(t, out.SnapshotID)
			for i, b := range blocks {
				if got := f.get(t, out.SnapshotID, int32(i), toks[int32(i)]); string(got) != string(b) {
					t.Fatalf("block %d differs", i)
				}
			}
		})
	}
}

// vanishingBlocks is a BlockStore whose Get first runs onGet, then
// answers ErrNotFound: a collection that swept the block between the
// read's lookup and its load.
type vanishingBlocks struct {
	store.BlockStore
	onGet func()
}

func (v *vanishingBlocks) Get(ctx context.Context, key ebs.Digest, dst []byte) ([]byte, error) {
	if v.onGet != nil {
		v.onGet()
		return nil, store.ErrNotFound
	}
	return v.BlockStore.Get(ctx, key, dst)
}

// TestGetRacingDeleteIs404: a GetSnapshotBlock whose snapshot is deleted
// and collected while it reads answers 404, as if it came after the
// delete, not 500; a block missing from a live snapshot stays a 500.
func TestGetRacingDeleteIs404(t *testing.T) {
	blocks := &vanishingBlocks{BlockStore: memstore.NewBlocks()}
	svc, err := snapshot.New(context.Background(), snapshot.Options{Meta: memstore.NewMeta(), Blocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, clock: &clock{t: time.Now()}}
	id := f.completed(t, "", map[int][]byte{0: payload("x")})
	tok := f.list(t, id)[0]
	get := func() error {
		_, err := svc.GetSnapshotBlock(context.Background(), snapshot.GetBlockInput{AccountID: account, SnapshotID: id, BlockIndex: "0", BlockToken: &tok})
		return err
	}
	blocks.onGet = func() {}
	wantKind(t, get(), ebs.KindInternal, "", "missing or damaged")
	blocks.onGet = func() {
		if err := svc.DeleteSnapshot(context.Background(), snapshot.DeleteInput{AccountID: account, SnapshotID: &id}); err != nil {
			t.Error(err)
		}
	}
	wantKind(t, get(), ebs.KindNotFound, ebs.ReasonSnapshotNotFound, id)
}

// purgingMeta is a MetaStore whose PutBlock first runs onPut: a delete and
// a collection's purge landing between a write's checks and its mapping.
type purgingMeta struct {
	*memstore.Meta
	onPut func(id string)
}

func (m *purgingMeta) PutBlock(ctx context.Context, id string, index int32, ref store.BlockRef, now time.Time) error {
	if m.onPut != nil {
		m.onPut(id)
	}
	return m.Meta.PutBlock(ctx, id, index, ref, now)
}

// TestPutRacingDeleteAndPurgeIs404: the write comes after the delete, so
// the snapshot does not exist for it: 404, not a 500.
func TestPutRacingDeleteAndPurgeIs404(t *testing.T) {
	meta := &purgingMeta{Meta: memstore.NewMeta()}
	svc, err := snapshot.New(context.Background(), snapshot.Options{Meta: meta, Blocks: memstore.NewBlocks()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, clock: &clock{t: time.Now()}}
	id := f.start(t, snapshot.StartInput{})
	meta.onPut = func(id string) {
		meta.onPut = nil
		if err := svc.DeleteSnapshot(context.Background(), snapshot.DeleteInput{AccountID: account, SnapshotID: &id}); err != nil {
			t.Error(err)
		}
		if err := meta.PurgeSnapshot(context.Background(), id); err != nil {
			t.Error(err)
		}
	}
	wantKind(t, f.put(id, 0, payload("x")), ebs.KindNotFound, ebs.ReasonSnapshotNotFound, id)
}

// vanishingMeta deletes and purges snapshot id just before the next
// UpdateSnapshot of it: what a DeleteSnapshot and a collection do between
// a request's read of an idle snapshot and its timeout update.
type vanishingMeta struct {
	*memstore.Meta
	mu sync.Mutex
	id string
}

func (m *vanishingMeta) UpdateSnapshot(ctx context.Context, id string, fn func(*store.Snapshot) error) (store.Snapshot, error) {
	m.mu.Lock()
	vanish := m.id == id
	if vanish {
		m.id = ""
	}
	m.mu.Unlock()
	if vanish {
		if _, err := m.Meta.UpdateSnapshot(ctx, id, func(r *store.Snapshot) error { r.State = store.StateDeleted; return nil }); err != nil {
			return store.Snapshot{}, err
		}
		if err := m.Meta.PurgeSnapshot(ctx, id); err != nil {
			return store.Snapshot{}, err
		}
	}
	return m.Meta.UpdateSnapshot(ctx, id, fn)
}

// TestIdleSnapshotPurgedIs404: a PutSnapshotBlock or CompleteSnapshot that
// finds its snapshot idle past its timeout, while the snapshot is deleted
// and purged before the timeout is recorded, answers 404, not a 500.
func TestIdleSnapshotPurgedIs404(t *testing.T) {
	for _, op := range []string{"put", "complete"} {
		t.Run(op, func(t *testing.T) {
			meta := &vanishingMeta{Meta: memstore.NewMeta()}
			c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
			svc, err := snapshot.New(context.Background(), snapshot.Options{Meta: meta, Blocks: memstore.NewBlocks(), Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{svc: svc, clock: c}
			id := f.start(t, snapshot.StartInput{})
			c.Advance(24 * time.Hour) // far past any timeout
			meta.mu.Lock()
			meta.id = id
			meta.mu.Unlock()
			if op == "put" {
				err = f.put(id, 0, payload("x"))
			} else {
				_, err = svc.CompleteSnapshot(context.Background(), snapshot.CompleteInput{AccountID: account, SnapshotID: id, ChangedBlocksCount: p("0")})
			}
			wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "")
		})
	}
}
