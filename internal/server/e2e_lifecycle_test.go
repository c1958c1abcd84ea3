package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/ebstest"
)

func TestLifecycle(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)

	before := time.Now().Add(-time.Second)
	start, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{
		VolumeSize: aws.Int64(1), Description: aws.String("root"), Timeout: aws.Int32(60),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := *start.SnapshotId
	if !strings.HasPrefix(id, "snap-") || len(id) != 22 {
		t.Errorf("SnapshotId = %q, want snap- and 17 hex digits", id)
	}
	if start.Status != types.StatusPending || *start.OwnerId != ebstest.Alice.AccountID || *start.BlockSize != 524288 ||
		*start.VolumeSize != 1 || *start.Description != "root" || start.StartTime.Before(before) ||
		len(start.Tags) != 1 || *start.Tags[0].Key != "env" || start.KmsKeyArn != nil || start.ParentSnapshotId != nil {
		t.Errorf("StartSnapshot output = %+v", start)
	}
	if rid, ok := awsmiddleware.GetRequestIDMetadata(start.ResultMetadata); !ok || rid == "" {
		t.Error("no x-amzn-RequestId")
	}

	blocks := map[int32][]byte{0: ebstest.Payload("b"), 3: ebstest.Payload("a"), 7: make([]byte, ebstest.BlockSize), 2047: ebstest.Payload("c")}
	mustPut(t, c, id, blocks)
	// The aggregate of spec §7.6 that real AWS accepted.
	if got := complete(t, c, id, 4, "Pq34jf4xh07iqiQpo/morRl/xL06mqy1ERimH+Hypi8="); got != types.StatusCompleted {
		t.Fatalf("status = %s, want completed", got)
	}
	sameBlocks(t, readAll(t, c, id), blocks)

	// Repeated completion reports the status whatever the count.
	out, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: aws.Int32(99)})
	if err != nil || out.Status != types.StatusCompleted {
		t.Fatalf("CompleteSnapshot again = %v, %v", out, err)
	}
}

func TestChecksumMismatchPutsSnapshotInError(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)
	id := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	mustPut(t, c, id, map[int32][]byte{0: ebstest.Payload("a"), 2: ebstest.Payload("b")})
	// Hashing the Base64 texts instead of the raw digests is the classic
	// mistake; AWS fails such a snapshot (spec §7.6).
	if got := complete(t, c, id, 2, "xKsCRmgUxD/XwebcOgEG4QQ7TRElxCfHnSnsGQDz4pU="); got != types.StatusError {
		t.Fatalf("status = %s, want error", got)
	}
	_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id})
	checkError(t, err, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "The snapshot '"+id+"' does not exist.")
}

func TestPaginationAndStartingIndex(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)
	id := startSnapshot(t, c, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(2)})
	blocks := map[int32][]byte{}
	for i := int32(0); i < 350; i++ {
		blocks[i*11] = ebstest.Payload(string(rune('a' + i%26)))
	}
	mustPut(t, c, id, blocks)
	complete(t, c, id, 350, "")
	if got := listAll(t, c, id, 100); len(got) != 350 {
		t.Fatalf("paged %d blocks, want 350", len(got))
	}
	page, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, MaxResults: aws.Int32(100), StartingBlockIndex: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if *page.Blocks[0].BlockIndex != 1001 || len(page.Blocks) != 100 || page.NextToken == nil {
		t.Fatalf("page from 1000: first %d, %d blocks, next %v", *page.Blocks[0].BlockIndex, len(page.Blocks), page.NextToken)
	}
	if d := time.Until(*page.ExpiryTime); d < 6*24*time.Hour || d > 7*24*time.Hour+time.Minute {
		t.Errorf("ExpiryTime in %v, want about 7 days", d)
	}
	// A page token overrides StartingBlockIndex.
	next, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, NextToken: page.NextToken, StartingBlockIndex: aws.Int32(3000), MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	if *next.Blocks[0].BlockIndex != 1001+100*11 {
		t.Fatalf("next page starts at %d", *next.Blocks[0].BlockIndex)
	}
	beyond, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, StartingBlockIndex: aws.Int32(4096)})
	if err != nil || len(beyond.Blocks) != 0 || beyond.NextToken != nil {
		t.Fatalf("beyond the volume: %+v, %v", beyond, err)
	}
}

func TestIdempotentStart(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)
	in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ClientToken: aws.String("backup-2026-11-23"), Description: aws.String("d")}
	a, err := c.StartSnapshot(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	complete(t, c, *a.SnapshotId, 0, "")
	b, err := c.StartSnapshot(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if *b.SnapshotId != *a.SnapshotId || b.Status != types.StatusPending || !b.StartTime.Equal(*a.StartTime) {
		t.Fatalf("replay = %s %s %v, want the original %s pending %v", *b.SnapshotId, b.Status, b.StartTime, *a.SnapshotId, a.StartTime)
	}
	in.Description = aws.String("changed")
	_, err = c.StartSnapshot(ctx, in)
	checkError(t, err, 409, "ConflictException", "", "Current request does not match request stored with this token.")
	// Tokens are per account.
	other, err := srv.Client(ebstest.Bob).StartSnapshot(ctx, in)
	if err != nil || *other.SnapshotId == *a.SnapshotId {
		t.Fatalf("Bob with Alice's token: %v, %v", other, err)
	}
}

func TestEncryptedRoundTrip(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)
	start, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Encrypted: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(start.KmsKeyArn)
	if !strings.HasPrefix(arn, "arn:aws:kms:us-east-1:"+ebstest.Alice.AccountID+":key/") {
		t.Fatalf("KmsKeyArn = %q, want the account's default key", arn)
	}
	id := *start.SnapshotId
	blocks := map[int32][]byte{0: ebstest.Payload("secret"), 9: ebstest.Random(9)}
	mustPut(t, c, id, blocks)
	complete(t, c, id, 2, ebstest.Linear(blocks[0], blocks[9]))
	sameBlocks(t, readAll(t, c, id), blocks)

	// The child of an encrypted parent is encrypted with the same key.
	child, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ParentSnapshotId: &id})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(child.KmsKeyArn) != arn {
		t.Fatalf("child KmsKeyArn = %v, want %s", child.KmsKeyArn, arn)
	}
	mustPut(t, c, *child.SnapshotId, map[int32][]byte{1: ebstest.Payload("more")})
	complete(t, c, *child.SnapshotId, 1, "")
	sameBlocks(t, readAll(t, c, *child.SnapshotId), map[int32][]byte{0: blocks[0], 1: ebstest.Payload("more"), 9: blocks[9]})

	// The plaintext is nowhere on disk.
	if n := grepDir(t, srv.DataDir, ebstest.Payload("secret")[:4096]); n > 0 {
		t.Fatalf("found plaintext of an encrypted block in %d files under the data directory", n)
	}
}

func TestTimeout(t *testing.T) {
	clock := ebstest.NewClock(time.Now())
	srv := ebstest.Start(t, ebstest.Options{Clock: clock})
	c := srv.Client(ebstest.Alice)
	id := startSnapshot(t, c, &ebs.StartSnapshotInput{Timeout: aws.Int32(10)})
	idle := startSnapshot(t, c, &ebs.StartSnapshotInput{Timeout: aws.Int32(10)})
	clock.Advance(8 * time.Minute)
	mustPut(t, c, id, map[int32][]byte{0: ebstest.Payload("a")}) // restarts the idle timer
	clock.Advance(8 * time.Minute)
	mustPut(t, c, id, map[int32][]byte{1: ebstest.Payload("b")})
	if got := complete(t, c, id, 2, ""); got != types.StatusCompleted {
		t.Fatalf("active snapshot: %s", got)
	}
	// The idle one timed out; a restart still knows it.
	srv.Restart()
	c = srv.Client(ebstest.Alice)
	err := putBlock(c, idle, 0, ebstest.Payload("late"))
	checkError(t, err, 400, "ValidationException", "INVALID_SNAPSHOT_ID", "Snapshot timed out")
	out, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &idle, ChangedBlocksCount: aws.Int32(0)})
	if err != nil || out.Status != types.StatusError {
		t.Fatalf("CompleteSnapshot on a timed-out snapshot = %v, %v; want error", out, err)
	}
}

func TestUnknownRouteIsJSON(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	for _, tc := range []struct{ method, path string }{{"GET", "/nope"}, {"DELETE", "/snapshots"}, {"GET", "/snapshots"}} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Amzn-Errortype") == "" || resp.Header.Get("X-Amzn-Requestid") == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.HasPrefix(string(body), "{") {
			t.Errorf("%s %s: %d %v %s", tc.method, tc.path, resp.StatusCode, resp.Header, body)
		}
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"ebsd_requests_total", "ebsd_pending_snapshots"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
