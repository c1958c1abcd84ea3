package snapexport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/nbd"
)

// env is an in-process ebsd, an SDK client of it, and an ebs client that
// goes through api (the SDK client unless a test wraps it).
type env struct {
	api   *ebs.Client
	state string
}

func newEnv(t *testing.T) *env { return newEnvClock(t, nil) }

func newEnvClock(t *testing.T, clock *ebstest.Clock) *env {
	t.Helper()
	srv := ebstest.Start(t, ebstest.Options{Clock: clock})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	t.Cleanup(tr.CloseIdleConnections)
	return &env{api: ebstest.NewClient(srv.URL, ebstest.Alice, &http.Client{Transport: tr}), state: t.TempDir()}
}

// client returns an ebs client over api (the server's when nil), with
// short retries.
func (e *env) client(api client.API, now func() time.Time) *client.Client {
	if api == nil {
		api = e.api
	}
	return client.New(api, client.Options{Workers: 8, StateDir: e.state, Now: now,
		Retry: client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, AttemptTimeout: 10 * time.Second, TotalTimeout: 20 * time.Second}})
}

// snapshot makes a completed snapshot of gib GiB (with parent) holding
// blocks.
func (e *env) snapshot(t *testing.T, gib int64, parent string, blocks map[int32][]byte) string {
	t.Helper()
	ctx := context.Background()
	in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(gib)}
	if parent != "" {
		in.ParentSnapshotId = aws.String(parent)
	}
	out, err := e.api.StartSnapshot(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var ordered [][]byte
	for i := int32(0); i < int32(gib*2048); i++ {
		b, ok := blocks[i]
		if !ok {
			continue
		}
		ordered = append(ordered, b)
		if _, err := e.api.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
			SnapshotId: out.SnapshotId, BlockIndex: aws.Int32(i), BlockData: bytes.NewReader(b),
			DataLength: aws.Int32(int32(len(b))), Checksum: aws.String(ebstest.Checksum(b)),
			ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.api.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{
		SnapshotId: out.SnapshotId, ChangedBlocksCount: aws.Int32(int32(len(blocks))),
		Checksum: aws.String(ebstest.Linear(ordered...)), ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	}); err != nil {
		t.Fatal(err)
	}
	return *out.SnapshotId
}

// volume returns the bytes of a 1 GiB volume holding blocks.
func volume(blocks map[int32][]byte) []byte {
	v := make([]byte, 1<<30)
	for i, b := range blocks {
		copy(v[int64(i)*blockSize:], b)
	}
	return v
}

// allStatus asks for block status until the whole export is described.
func allStatus(t *testing.T, ex *Export) []nbd.Extent {
	t.Helper()
	var exts []nbd.Extent
	for off := int64(0); off < ex.Size(); {
		more, err := ex.BlockStatus(context.Background(), off, ex.Size()-off)
		if err != nil || len(more) == 0 {
			t.Fatalf("BlockStatus(%d): %v, %d extents", off, err, len(more))
		}
		for _, x := range more {
			if k := len(exts) - 1; k >= 0 && exts[k].Flags == x.Flags {
				exts[k].Length += x.Length
			} else {
				exts = append(exts, x)
			}
			off += x.Length
		}
	}
	return exts
}

func TestReadsAndHoles(t *testing.T) {
	e := newEnv(t)
	const hz = nbd.StateHole | nbd.StateZero
	for _, tc := range []struct {
		name   string
		blocks map[int32][]byte
		want   []nbd.Extent
	}{
		// The last listed block is not the volume's last: the listing
		// past it answers an empty page, whose ExpiryTime is "now"
		// (this looped forever once).
		{"data in the middle", map[int32][]byte{20: ebstest.Random(1), 21: ebstest.Random(2), 78: ebstest.Random(3)},
			[]nbd.Extent{ext(20*blockSize, hz), ext(2*blockSize, 0), ext(56*blockSize, hz), ext(blockSize, 0), ext((2048-79)*blockSize, hz)}},
		{"first and last block", map[int32][]byte{0: ebstest.Random(4), 2047: ebstest.Random(5)},
			[]nbd.Extent{ext(blockSize, 0), ext(2046*blockSize, hz), ext(blockSize, 0)}},
		{"empty", map[int32][]byte{}, []nbd.Extent{ext(1<<30, hz)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := e.snapshot(t, 1, "", tc.blocks)
			ctx := context.Background()
			ex, err := Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: id})
			if err != nil {
				t.Fatal(err)
			}
			defer ex.Close()
			if ex.Size() != 1<<30 || ex.SizeSource() != client.SizeFromVolume {
				t.Fatalf("size %d from %s", ex.Size(), ex.SizeSource())
			}
			if got := allStatus(t, ex); len(got) != len(tc.want) || !equalExtents(got, tc.want) {
				t.Fatalf("extents %v, want %v", got, tc.want)
			}
			want := volume(tc.blocks)
			// Reads across block boundaries, of holes and data.
			for _, r := range []struct{ off, n int64 }{{0, 4096}, {20*blockSize - 100, 300}, {21*blockSize + 7, 2 * blockSize}, {78 * blockSize, blockSize}, {1<<30 - 5000, 5000}, {10 << 20, 32 << 20}} {
				got := make([]byte, r.n)
				if err := ex.ReadAt(ctx, got, r.off); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want[r.off:r.off+r.n]) {
					t.Fatalf("read %d+%d differs", r.off, r.n)
				}
			}
		})
	}
}

func ext(l int64, f uint32) nbd.Extent { return nbd.Extent{Length: l, Flags: f} }

func equalExtents(a, b []nbd.Extent) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestLazyListing: a large sparse volume answers its first reads after a
// listing page or two, not after listing it all; and a region never read
// is never listed.
func TestLazyListing(t *testing.T) {
	e := newEnv(t)
	const gib = 1024 // 1 TiB: 2,097,152 blocks
	last := int32(gib*2048 - 1)
	blocks := map[int32][]byte{5: ebstest.Random(1), last: ebstest.Random(2)}
	id := e.snapshot(t, gib, "", blocks)
	ctx := context.Background()
	began := time.Now()
	ex, err := Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: id})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	buf := make([]byte, 4096)
	if err := ex.ReadAt(ctx, buf, int64(last)*blockSize); err != nil {
		t.Fatal(err)
	}
	ttfb := time.Since(began)
	if !bytes.Equal(buf, blocks[last][:4096]) {
		t.Fatal("last block differs")
	}
	if p := ex.Stats().Pages; p > 2 {
		t.Fatalf("%d listing pages before the first byte, want at most 2", p)
	}
	t.Logf("first byte of the last block of a 1 TiB snapshot after %v", ttfb)
}

// TestTokenExpiry: tokens near their expiry are listed again.
func TestTokenExpiry(t *testing.T) {
	clock := ebstest.NewClock(time.Now())
	e := newEnvClock(t, clock)
	blocks := map[int32][]byte{3: ebstest.Random(1)}
	id := e.snapshot(t, 1, "", blocks)
	ctx := context.Background()
	ex, err := Open(ctx, Options{Client: e.client(nil, clock.Now), SnapshotID: id, Now: clock.Now, CacheBlocks: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	buf := make([]byte, blockSize)
	read := func() {
		t.Helper()
		if err := ex.ReadAt(ctx, buf, 3*blockSize); err != nil || !bytes.Equal(buf, blocks[3]) {
			t.Fatalf("read: %v", err)
		}
	}
	read()
	before := ex.Stats().Pages
	clock.Advance(7*24*time.Hour - 30*time.Minute) // within the margin of the 7-day expiry
	ex.ReadAt(ctx, make([]byte, blockSize), 0)     // evicts block 3 from the one-block cache
	read()
	if after := ex.Stats().Pages; after <= before {
		t.Fatalf("%d listing pages before, %d after the tokens neared expiry: not listed again", before, after)
	}
}

// corruptGets flips a byte of every block it returns.
type corruptGets struct {
	client.API
	gets atomic.Int64
}

func (c *corruptGets) GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, opt ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error) {
	out, err := c.API.GetSnapshotBlock(ctx, in, opt...)
	if err != nil {
		return out, err
	}
	c.gets.Add(1)
	b, _ := io.ReadAll(out.BlockData)
	out.BlockData.Close()
	b[1000] ^= 0xff
	out.BlockData = io.NopCloser(bytes.NewReader(b))
	return out, nil
}

// TestCorruptBlock: a block whose data does not match its checksum is an
// error (EIO to NBD clients), never data.
func TestCorruptBlock(t *testing.T) {
	e := newEnv(t)
	id := e.snapshot(t, 1, "", map[int32][]byte{1: ebstest.Random(1)})
	api := &corruptGets{API: e.api}
	ctx := context.Background()
	ex, err := Open(ctx, Options{Client: e.client(api, nil), SnapshotID: id})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	buf := make([]byte, 8192)
	err = ex.ReadAt(ctx, buf, blockSize)
	var ce *client.ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("read of a corrupt block: %v, want a checksum error", err)
	}
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Fatal("corrupt data reached the caller's buffer")
	}
	if api.gets.Load() < 2 {
		t.Fatalf("%d gets: the block was not fetched again", api.gets.Load())
	}
}

// TestReadAheadAndCache: sequential reads are served from blocks fetched
// ahead; the cache never holds more than its bound.
func TestReadAheadAndCache(t *testing.T) {
	e := newEnv(t)
	blocks := map[int32][]byte{}
	for i := range int32(64) {
		blocks[i] = ebstest.Random(uint64(i) + 1)
	}
	id := e.snapshot(t, 1, "", blocks)
	ctx := context.Background()
	ex, err := Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: id, CacheBlocks: 16, ReadAhead: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	want := volume(blocks)
	buf := make([]byte, 256<<10)
	for off := int64(0); off < 64*blockSize; off += int64(len(buf)) {
		if err := ex.ReadAt(ctx, buf, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, want[off:off+int64(len(buf))]) {
			t.Fatalf("read at %d differs", off)
		}
		if n := ex.cache.len(); n > 16 {
			t.Fatalf("cache holds %d blocks, bound 16", n)
		}
	}
	st := ex.Stats()
	if st.ReadAhead == 0 || st.Hits == 0 {
		t.Fatalf("stats %+v: nothing read ahead or hit", st)
	}
	t.Logf("%+v", st)
}
