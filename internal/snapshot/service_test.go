package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

const account = "111122223333"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *snapshot.Service
	clock *clock
	keys  *keyring.Keyring
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	keys, err := keyring.Open(t.TempDir()+"/kms-keys.json", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	svc, err := snapshot.New(context.Background(), snapshot.Options{
		Meta: memstore.NewMeta(), Blocks: memstore.NewBlocks(), Keys: keys, Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, clock: c, keys: keys}
}

// payload is the spec's synthetic block: "stackd-ebs-synthetic-" + x + "\n"
// repeated and cut to one block (spec §7.6).
func payload(x string) []byte {
	return bytes.Repeat([]byte("stackd-ebs-synthetic-"+x+"\n"), ebs.BlockSize)[:ebs.BlockSize]
}

func zero() []byte { return make([]byte, ebs.BlockSize) }

func p[T any](v T) *T { return &v }

func (f *fixture) start(t *testing.T, in snapshot.StartInput) string {
	t.Helper()
	in.AccountID = account
	if in.VolumeSize == nil {
		in.VolumeSize = p(int64(1))
	}
	out, err := f.svc.StartSnapshot(context.Background(), in)
	if err != nil {
		t.Fatalf("StartSnapshot: %v", err)
	}
	return out.SnapshotID
}

func (f *fixture) put(id string, index int, data []byte) error {
	_, err := f.svc.PutSnapshotBlock(context.Background(), snapshot.PutBlockInput{
		AccountID: account, SnapshotID: id, BlockIndex: fmt.Sprint(index),
		DataLength: p(fmt.Sprint(len(data))), Checksum: p(ebs.Sum(data).String()),
		ChecksumAlgorithm: p("SHA256"), Body: bytes.NewReader(data),
	})
	return err
}

func (f *fixture) mustPut(t *testing.T, id string, blocks map[int][]byte) {
	t.Helper()
	for i, b := range blocks {
		if err := f.put(id, i, b); err != nil {
			t.Fatalf("PutSnapshotBlock %d: %v", i, err)
		}
	}
}

func (f *fixture) complete(t *testing.T, id string, count int, checksum string) ebs.Status {
	t.Helper()
	in := snapshot.CompleteInput{AccountID: account, SnapshotID: id, ChangedBlocksCount: p(fmt.Sprint(count))}
	if checksum != "" {
		in.Checksum, in.ChecksumAlgorithm, in.ChecksumAggregationMethod = &checksum, p("SHA256"), p("LINEAR")
	}
	out, err := f.svc.CompleteSnapshot(context.Background(), in)
	if err != nil {
		t.Fatalf("CompleteSnapshot: %v", err)
	}
	if out.Status != ebs.StatusPending {
		return out.Status
	}
	// The first call answers pending, as on AWS; a second reports the outcome.
	in.Checksum, in.ChecksumAlgorithm, in.ChecksumAggregationMethod = nil, nil, nil
	out, err = f.svc.CompleteSnapshot(context.Background(), in)
	if err != nil {
		t.Fatalf("CompleteSnapshot again: %v", err)
	}
	return out.Status
}

func (f *fixture) list(t *testing.T, id string) map[int32]string {
	t.Helper()
	got := map[int32]string{}
	var next *string
	for {
		out, err := f.svc.ListSnapshotBlocks(context.Background(), snapshot.ListBlocksInput{
			AccountID: account, SnapshotID: id, NextToken: next, MaxResults: p("100"),
		})
		if err != nil {
			t.Fatalf("ListSnapshotBlocks: %v", err)
		}
		for _, b := range out.Blocks {
			got[b.BlockIndex] = b.BlockToken
		}
		if out.NextToken == "" {
			return got
		}
		next = &out.NextToken
	}
}

func (f *fixture) get(t *testing.T, id string, index int32, tok string) []byte {
	t.Helper()
	out, err := f.svc.GetSnapshotBlock(context.Background(), snapshot.GetBlockInput{
		AccountID: account, SnapshotID: id, BlockIndex: fmt.Sprint(index), BlockToken: &tok,
	})
	if err != nil {
		t.Fatalf("GetSnapshotBlock %d: %v", index, err)
	}
	defer out.Release()
	if out.Checksum != ebs.Sum(out.Data).String() {
		t.Fatalf("block %d: checksum %s does not match data", index, out.Checksum)
	}
	return bytes.Clone(out.Data)
}

func wantKind(t *testing.T, err error, kind ebs.Kind, reason ebs.Reason, msg string) {
	t.Helper()
	var e *ebs.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *ebs.Error of kind %v", err, kind)
	}
	if e.Kind != kind || e.Reason != reason || !strings.Contains(e.Message, msg) {
		t.Fatalf("err = kind %v reason %q message %q; want kind %v reason %q message containing %q",
			e.Kind, e.Reason, e.Message, kind, reason, msg)
	}
}

// TestLinearChecksumVectors replays the captures of spec §7.6.
func TestLinearChecksumVectors(t *testing.T) {
	blocks := map[int][]byte{0: payload("b"), 3: payload("a"), 7: zero(), 2047: payload("c")}
	tests := []struct {
		name     string
		blocks   map[int][]byte
		count    int
		checksum string
		want     ebs.Status
	}{
		{"accepted by AWS", blocks, 4, "Pq34jf4xh07iqiQpo/morRl/xL06mqy1ERimH+Hypi8=", ebs.StatusCompleted},
		{"no checksum", blocks, 4, "", ebs.StatusCompleted},
		{"wrong count", blocks, 5, "Pq34jf4xh07iqiQpo/morRl/xL06mqy1ERimH+Hypi8=", ebs.StatusError},
		{"two blocks", map[int][]byte{0: payload("a"), 2: payload("b")}, 2, "TaVs0wV7YBznFZI053JMqdP3BZFgoXWQRCI8Npz4HRM=", ebs.StatusCompleted},
		{"wrong text method", map[int][]byte{0: payload("a"), 2: payload("b")}, 2, "xKsCRmgUxD/XwebcOgEG4QQ7TRElxCfHnSnsGQDz4pU=", ebs.StatusError},
		{"empty", nil, 0, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", ebs.StatusCompleted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.start(t, snapshot.StartInput{})
			f.mustPut(t, id, tc.blocks)
			if got := f.complete(t, id, tc.count, tc.checksum); got != tc.want {
				t.Fatalf("status = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRoundTripWithOverwriteAndZeroBlock(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypted), func(t *testing.T) {
			f := newFixture(t)
			id := f.start(t, snapshot.StartInput{Encrypted: p(encrypted)})
			f.mustPut(t, id, map[int][]byte{0: payload("x"), 5: zero(), 2047: payload("c")})
			f.mustPut(t, id, map[int][]byte{0: payload("a")}) // the last write wins
			if got := f.complete(t, id, 3, ""); got != ebs.StatusCompleted {
				t.Fatalf("status = %s", got)
			}
			want := map[int32][]byte{0: payload("a"), 5: zero(), 2047: payload("c")}
			toks := f.list(t, id)
			if len(toks) != len(want) {
				t.Fatalf("listed %d blocks, want %d", len(toks), len(want))
			}
			for i, tok := range toks {
				if !bytes.Equal(f.get(t, id, i, tok), want[i]) {
					t.Fatalf("block %d differs", i)
				}
			}
		})
	}
}

func TestPutSnapshotBlockErrors(t *testing.T) {
	f := newFixture(t)
	id := f.start(t, snapshot.StartInput{})
	good := payload("a")
	base := func() snapshot.PutBlockInput {
		return snapshot.PutBlockInput{AccountID: account, SnapshotID: id, BlockIndex: "1",
			DataLength: p("524288"), Checksum: p(ebs.Sum(good).String()), ChecksumAlgorithm: p("SHA256"),
			Body: bytes.NewReader(good)}
	}
	tests := []struct {
		name   string
		edit   func(*snapshot.PutBlockInput)
		kind   ebs.Kind
		reason ebs.Reason
		msg    string
	}{
		{"negative index", func(in *snapshot.PutBlockInput) { in.BlockIndex = "-1" }, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue,
			"1 validation error detected: Value '-1' at 'blockIndex' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"bad checksum chars", func(in *snapshot.PutBlockInput) { in.Checksum = p("not base64!") }, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "at 'checksum'"},
		{"progress 101", func(in *snapshot.PutBlockInput) { in.Progress = p("101") }, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "less than or equal to 100"},
		{"two violations", func(in *snapshot.PutBlockInput) { in.Progress = p("-1"); in.DataLength = nil }, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "2 validation errors detected"},
		{"unknown snapshot", func(in *snapshot.PutBlockInput) { in.SnapshotID = "snap-0123456789abcdef0" }, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "The snapshot 'snap-0123456789abcdef0' does not exist."},
		{"other account", func(in *snapshot.PutBlockInput) { in.AccountID = "999999999999" }, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "does not exist"},
		{"SHA1", func(in *snapshot.PutBlockInput) { in.ChecksumAlgorithm = p("SHA1") }, ebs.KindInvalid, ebs.ReasonInvalidParameterValue, "Unsupported Checksum Algorithm 'SHA1', supported algorithms are SHA256"},
		{"short body", func(in *snapshot.PutBlockInput) { in.Body = bytes.NewReader(good[:100]) }, ebs.KindInvalid, ebs.ReasonInvalidParameterValue, "Failed to read block data"},
		{"length 1", func(in *snapshot.PutBlockInput) { in.DataLength = p("1") }, ebs.KindInvalid, ebs.ReasonInvalidBlock, "Block data length 1 is not valid, expected 524288"},
		{"beyond volume", func(in *snapshot.PutBlockInput) { in.BlockIndex = "2048" }, ebs.KindInvalid, ebs.ReasonInvalidBlock, "Block index 2048 is beyond the volume size extent"},
		{"checksum mismatch", func(in *snapshot.PutBlockInput) { in.Checksum = p(ebs.Sum(zero()).String()) }, ebs.KindBadSignature, "", "does not match the computed checksum"},
		{"payload hash mismatch", func(in *snapshot.PutBlockInput) { d := ebs.Sum(zero()); in.PayloadHash = &d }, ebs.KindBadSignature, "", "x-amz-content-sha256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.edit(&in)
			_, err := f.svc.PutSnapshotBlock(context.Background(), in)
			wantKind(t, err, tc.kind, tc.reason, tc.msg)
		})
	}
	// Nothing above was written.
	if got := f.complete(t, id, 0, ""); got != ebs.StatusCompleted {
		t.Fatalf("status = %s, want completed with 0 blocks", got)
	}
	_, err := f.svc.PutSnapshotBlock(context.Background(), base())
	wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "Snapshot is already completed")
}

func TestStartSnapshotValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		in     snapshot.StartInput
		kind   ebs.Kind
		reason ebs.Reason
		msg    string
	}{
		{"no volume size", snapshot.StartInput{VolumeSize: nil}, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue,
			"1 validation error detected: Value null at 'volumeSize' failed to satisfy constraint: Member must not be null"},
		{"volume size 0", snapshot.StartInput{VolumeSize: p(int64(0))}, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "greater than or equal to 1"},
		{"too large", snapshot.StartInput{VolumeSize: p(int64(65537))}, ebs.KindInvalid, ebs.ReasonInvalidVolumeSize, "65536"},
		{"timeout 5", snapshot.StartInput{VolumeSize: p(int64(1)), Timeout: p(int64(5))}, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "at 'timeout'"},
		{"client token 256", snapshot.StartInput{VolumeSize: p(int64(1)), ClientToken: p(strings.Repeat("a", 256))}, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "Member must have length less than or equal to 255"},
		{"empty client token", snapshot.StartInput{VolumeSize: p(int64(1)), ClientToken: p("")}, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "at 'clientToken'"},
		{"empty description", snapshot.StartInput{VolumeSize: p(int64(1)), Description: p("")}, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "at 'description'"},
		{"51 tags", snapshot.StartInput{VolumeSize: p(int64(1)), Tags: manyTags(51)}, ebs.KindInvalid, ebs.ReasonInvalidTag, "at most 50"},
		{"aws: tag", snapshot.StartInput{VolumeSize: p(int64(1)), Tags: []ebs.Tag{{Key: "aws:x"}}}, ebs.KindInvalid, ebs.ReasonInvalidTag, "reserved"},
		{"false with key", snapshot.StartInput{VolumeSize: p(int64(1)), Encrypted: p(false), KMSKeyARN: p("arn:aws:kms:us-east-1:111122223333:key/x")},
			ebs.KindInvalid, ebs.ReasonInvalidParameterValue, "Encrypt cannot be false when KmsKeyArn is specified"},
		{"unknown key", snapshot.StartInput{VolumeSize: p(int64(1)), KMSKeyARN: p("arn:aws:kms:us-east-1:111122223333:key/nope")},
			ebs.KindInvalid, ebs.ReasonInvalidCustomerKey, "not configured"},
		{"bad arn", snapshot.StartInput{VolumeSize: p(int64(1)), KMSKeyARN: p("key")}, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "at 'kmsKeyArn'"},
		{"missing parent", snapshot.StartInput{VolumeSize: p(int64(1)), ParentSnapshotID: p("snap-0000000000000000f")}, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.AccountID = account
			_, err := f.svc.StartSnapshot(context.Background(), tc.in)
			wantKind(t, err, tc.kind, tc.reason, tc.msg)
		})
	}
}

func manyTags(n int) []ebs.Tag {
	tags := make([]ebs.Tag, n)
	for i := range tags {
		tags[i] = ebs.Tag{Key: fmt.Sprint("k", i), Value: "v"}
	}
	return tags
}

func TestIdempotency(t *testing.T) {
	f := newFixture(t)
	in := snapshot.StartInput{AccountID: account, VolumeSize: p(int64(1)), ClientToken: p("tok-1"), Description: p("d")}
	first, err := f.svc.StartSnapshot(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	f.complete(t, first.SnapshotID, 0, "")
	again, err := f.svc.StartSnapshot(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, first) || again.Status != ebs.StatusPending {
		t.Fatalf("replay = %+v, want the original response %+v", again, first)
	}
	in.Description = p("other")
	_, err = f.svc.StartSnapshot(context.Background(), in)
	wantKind(t, err, ebs.KindConflict, "", "Current request does not match request stored with this token.")
}

func TestIdleTimeout(t *testing.T) {
	f := newFixture(t)
	id := f.start(t, snapshot.StartInput{Timeout: p(int64(10))})
	f.clock.Advance(9 * time.Minute)
	f.mustPut(t, id, map[int][]byte{1: payload("a")}) // restarts the idle timer
	f.clock.Advance(9 * time.Minute)
	f.mustPut(t, id, map[int][]byte{2: payload("b")})
	f.clock.Advance(10*time.Minute + time.Second)
	err := f.put(id, 3, payload("c"))
	wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "Snapshot timed out")
	if got := f.complete(t, id, 2, ""); got != ebs.StatusError {
		t.Fatalf("status = %s, want error", got)
	}
}

func TestSweepExpiresUntouchedSnapshots(t *testing.T) {
	f := newFixture(t)
	id := f.start(t, snapshot.StartInput{})
	other := f.start(t, snapshot.StartInput{Timeout: p(int64(120))})
	f.clock.Advance(61 * time.Minute)
	if err := f.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.svc.PendingSnapshots(context.Background()); n != 1 {
		t.Fatalf("pending = %d, want 1 (only %s)", n, other)
	}
	if got := f.complete(t, id, 0, ""); got != ebs.StatusError {
		t.Fatalf("status = %s, want error", got)
	}
}

func TestReadsOnlyCompletedSnapshots(t *testing.T) {
	f := newFixture(t)
	id := f.start(t, snapshot.StartInput{})
	_, err := f.svc.ListSnapshotBlocks(context.Background(), snapshot.ListBlocksInput{AccountID: account, SnapshotID: id})
	wantKind(t, err, ebs.KindNotFound, ebs.ReasonSnapshotNotFound, id)
}

func TestLineageAndChangedBlocks(t *testing.T) {
	f := newFixture(t)
	base := f.start(t, snapshot.StartInput{})
	f.mustPut(t, base, map[int][]byte{0: payload("a"), 1: payload("b"), 2: payload("c")})
	f.complete(t, base, 3, "")
	child := f.start(t, snapshot.StartInput{ParentSnapshotID: &base})
	f.mustPut(t, child, map[int][]byte{1: payload("x"), 3: payload("y")})
	f.complete(t, child, 2, "")
	grand := f.start(t, snapshot.StartInput{ParentSnapshotID: &child})
	f.mustPut(t, grand, map[int][]byte{0: payload("z")})
	f.complete(t, grand, 1, "")
	sibling := f.start(t, snapshot.StartInput{ParentSnapshotID: &base})
	f.mustPut(t, sibling, map[int][]byte{2: payload("s")})
	f.complete(t, sibling, 1, "")
	unrelated := f.start(t, snapshot.StartInput{})
	f.complete(t, unrelated, 0, "")

	// The grandchild reads through its lineage.
	want := map[int32][]byte{0: payload("z"), 1: payload("x"), 2: payload("c"), 3: payload("y")}
	toks := f.list(t, grand)
	if len(toks) != len(want) {
		t.Fatalf("grandchild lists %d blocks, want %d", len(toks), len(want))
	}
	for i, tok := range toks {
		if !bytes.Equal(f.get(t, grand, i, tok), want[i]) {
			t.Fatalf("grandchild block %d differs", i)
		}
	}

	changed := func(first, second string) map[int32][2]bool {
		out, err := f.svc.ListChangedBlocks(context.Background(), snapshot.ListChangedInput{
			AccountID: account, FirstSnapshotID: &first, SecondSnapshotID: second})
		if err != nil {
			t.Fatalf("ListChangedBlocks(%s, %s): %v", first, second, err)
		}
		got := map[int32][2]bool{}
		for _, cb := range out.ChangedBlocks {
			got[cb.BlockIndex] = [2]bool{cb.FirstBlockToken != "", cb.SecondBlockToken != ""}
		}
		return got
	}
	tests := []struct {
		name          string
		first, second string
		want          map[int32][2]bool
	}{
		{"base to grandchild", base, grand, map[int32][2]bool{0: {true, true}, 1: {true, true}, 3: {false, true}}},
		{"grandchild to base", grand, base, map[int32][2]bool{0: {true, true}, 1: {true, true}, 3: {true, false}}},
		{"child to grandchild", child, grand, map[int32][2]bool{0: {true, true}}},
		{"siblings", sibling, grand, map[int32][2]bool{0: {true, true}, 1: {true, true}, 2: {true, true}, 3: {false, true}}},
		{"itself", grand, grand, map[int32][2]bool{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := changed(tc.first, tc.second)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("changed = %v, want %v", got, tc.want)
			}
		})
	}
	_, err := f.svc.ListChangedBlocks(context.Background(), snapshot.ListChangedInput{AccountID: account, FirstSnapshotID: &unrelated, SecondSnapshotID: grand})
	wantKind(t, err, ebs.KindInvalid, ebs.ReasonUnrelatedSnapshots, "are not related")
	_, err = f.svc.ListChangedBlocks(context.Background(), snapshot.ListChangedInput{AccountID: account, SecondSnapshotID: grand})
	wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "First snapshot should not be empty or null")

	// A token names one block of one snapshot.
	gt := f.list(t, grand)
	bt := f.list(t, base)
	for _, tc := range []struct {
		name string
		id   string
		idx  int32
		tok  string
	}{
		{"parent's token on child", grand, 2, bt[2]},
		{"other index", grand, 1, gt[0]},
		{"garbage", grand, 0, "AAAA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.GetSnapshotBlock(context.Background(), snapshot.GetBlockInput{
				AccountID: account, SnapshotID: tc.id, BlockIndex: fmt.Sprint(tc.idx), BlockToken: &tc.tok})
			wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidBlockToken, "is invalid")
		})
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t)
	id := f.start(t, snapshot.StartInput{})
	blocks := map[int][]byte{}
	for i := 0; i < 250; i++ {
		blocks[i*3] = zero()
	}
	f.mustPut(t, id, blocks)
	f.complete(t, id, 250, "")
	if got := len(f.list(t, id)); got != 250 {
		t.Fatalf("listed %d, want 250", got)
	}
	out, err := f.svc.ListSnapshotBlocks(context.Background(), snapshot.ListBlocksInput{
		AccountID: account, SnapshotID: id, MaxResults: p("100"), StartingBlockIndex: p("600")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Blocks) != 50 || out.Blocks[0].BlockIndex != 600 || out.NextToken != "" {
		t.Fatalf("page from 600: %d blocks from %d, next %q", len(out.Blocks), out.Blocks[0].BlockIndex, out.NextToken)
	}
	_, err = f.svc.ListSnapshotBlocks(context.Background(), snapshot.ListBlocksInput{
		AccountID: account, SnapshotID: id, MaxResults: p("50")})
	wantKind(t, err, ebs.KindInvalidField, ebs.ReasonInvalidParameterValue, "Value '50' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 100")
	_, err = f.svc.ListSnapshotBlocks(context.Background(), snapshot.ListBlocksInput{
		AccountID: account, SnapshotID: id, NextToken: p("bm9wZQ")})
	wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidPageToken, "The pagination token bm9wZQ is invalid.")
}

var _ io.Reader = (*bytes.Reader)(nil)
