package s3blocks

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/s3test"
	"github.com/ebsd/ebsd/internal/store"
)

// onPostgres runs fn on MinIO with the PostgreSQL index: the deployed
// combination.
func onPostgres(t *testing.T) *harness {
	t.Helper()
	return newHarnessOn(t, s3test.Start(t), pgIndex(t))
}

// contentsOf reads the index's contents, not Store.Contents' cache.
func contentsOf(t *testing.T, x Index) Contents {
	t.Helper()
	c, err := x.Contents(t.Context())
	if err != nil {
		t.Fatalf("Contents: %v", err)
	}
	return c
}

// TestContents follows what the PostgreSQL index reports about the bucket
// through a block store's life: puts, an orphan left by a failed seal, a
// sweep, a compaction that retires groups, and the deletion of their
// objects. Every figure is exact here: object sizes are known.
func TestContents(t *testing.T) {
	h := onPostgres(t)
	h.opts.ObjectGrace = time.Hour
	s := h.open(t)
	ctx := t.Context()
	if c := contentsOf(t, h.index); c != (Contents{}) {
		t.Fatalf("contents of an empty store: %+v", c)
	}
	rng := newRand()
	sizes := []int{10_000, 20_000, 30_000}
	keys := make([]ebs.Digest, len(sizes))
	var sealed int64
	for i, n := range sizes {
		var data []byte
		keys[i], data = randomBlock(rng, n)
		// One at a time: each Put is a group of its own.
		if err := s.Put(ctx, keys[i], data); err != nil {
			t.Fatal(err)
		}
		sealed += groupSize(n)
	}
	want := Contents{Sealed: GroupTotal{3, sealed}, LiveBytes: sealed, Blocks: 3}
	if c := contentsOf(t, h.index); c != want {
		t.Fatalf("after 3 puts: %+v, want %+v", c, want)
	}

	// A node whose seal fails leaves a group writing, with its object.
	failing := h.opts
	failing.Index = sealFails{h.index}
	fs, err := Open(ctx, failing)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	orphanKey, orphanData := randomBlock(rng, 40_000)
	if err := fs.Put(ctx, orphanKey, orphanData); err == nil {
		t.Fatal("Put whose seal failed returned nil")
	}
	orphan := groupSize(40_000)
	want.Writing = GroupTotal{1, orphan}
	if c := contentsOf(t, h.index); c != want {
		t.Fatalf("after a failed seal: %+v, want %+v (the orphan's bytes counted)", c, want)
	}

	// The third key is dead: the sweep deletes it and measures the live
	// bytes of the groups, entries only.
	disarm := s.Arm()
	if _, err := s.Sweep(ctx, liveSet{keys[0]: true, keys[1]: true}); err != nil {
		t.Fatal(err)
	}
	disarm()
	want.Blocks = 2
	want.LiveBytes = entryBytes(sizes[0]) + entryBytes(sizes[1])
	if c := contentsOf(t, h.index); c != want {
		t.Fatalf("after the sweep: %+v, want %+v", c, want)
	}

	// Compaction retires the empty group and the orphan (a short writing
	// TTL); the grace keeps their objects.
	h.opts.WritingTTL = time.Nanosecond
	s2 := h.open(t)
	if _, err := s2.Compact(ctx, store.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	dead := groupSize(sizes[2])
	want.Writing = GroupTotal{}
	want.Sealed = GroupTotal{2, sealed - dead}
	want.Retiring = GroupTotal{2, dead + orphan}
	if c := contentsOf(t, h.index); c != want {
		t.Fatalf("after compaction: %+v, want %+v", c, want)
	}

	// Without the grace, the next compaction deletes them and says how
	// many bytes that gave back, the orphan's included.
	h.opts.ObjectGrace = -1
	s3b := h.open(t)
	rep, err := s3b.Compact(ctx, store.CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want.Retiring = GroupTotal{}
	if c := contentsOf(t, h.index); c != want {
		t.Fatalf("after the objects' deletion: %+v, want %+v", c, want)
	}
	if rep.PacksRemoved != 2 || rep.BytesReclaimed != dead+orphan {
		t.Errorf("compaction report %+v, want 2 packs and %d bytes reclaimed", rep, dead+orphan)
	}
	if n := len(h.objectNames(t)); n != 2 {
		t.Errorf("%d objects in the bucket, want the 2 sealed groups'", n)
	}
}

// groupSize is the object size of a group of one block of n bytes.
func groupSize(n int) int64 { return pack.FileHeaderSize + entryBytes(n) }

// entryBytes is the bytes a block of n bytes takes in its group.
func entryBytes(n int) int64 { return pack.EntryHeaderSize + int64(n) }

// TestContentsEstimatesBigIndex fills block_index past ExactBlocks with
// SQL: Contents must then take PostgreSQL's estimate, not count.
func TestContentsEstimatesBigIndex(t *testing.T) {
	x := pgIndex(t)
	ctx := t.Context()
	const rows = ExactBlocks + 20_000
	id, err := x.NewGroup(ctx, "test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	_, err = x.pool.Exec(ctx, `
INSERT INTO block_index (key, group_id, off, stored_len, raw_len, touched)
SELECT sha256(int8send(i)), $1, i * 100, 50, 50, 1 FROM generate_series(1, $2::bigint) AS i`, id, rows)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.pool.Exec(ctx, `ANALYZE block_index`); err != nil {
		t.Fatal(err)
	}
	c := contentsOf(t, x)
	if !c.BlocksEstimated || c.Blocks < rows*9/10 || c.Blocks > rows*11/10 {
		t.Errorf("contents of an index of %d rows: %d blocks, estimated %v; want an estimate within 10%%", rows, c.Blocks, c.BlocksEstimated)
	}
	if c.Writing != (GroupTotal{1, 1 << 30}) {
		t.Errorf("writing groups %+v, want the one of 1 GiB", c.Writing)
	}
}

// countContents counts the index's Contents calls.
type countContents struct {
	Index
	calls atomic.Int64
}

func (x *countContents) Contents(ctx context.Context) (Contents, error) {
	x.calls.Add(1)
	return x.Index.Contents(ctx)
}

// TestContentsCache checks that Store.Contents asks the index once for
// scrapes in a row, and again after this node's Sweep and Compact.
func TestContentsCache(t *testing.T) {
	h := newHarness(t, newMemIndex())
	x := &countContents{Index: h.index}
	h.opts.Index = x
	s := h.open(t)
	ctx := t.Context()
	key, data := randomBlock(newRand(), 4096)
	if err := s.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	scrape := func(wantCalls int64, wantBlocks int64) {
		t.Helper()
		c, err := s.Contents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := x.calls.Load(); n != wantCalls || c.Blocks != wantBlocks {
			t.Errorf("after %d index queries: %d blocks; want %d queries, %d blocks", n, c.Blocks, wantCalls, wantBlocks)
		}
	}
	scrape(1, 1)
	scrape(1, 1)
	disarm := s.Arm()
	if _, err := s.Sweep(ctx, liveSet{}); err != nil {
		t.Fatal(err)
	}
	disarm()
	scrape(2, 0)
	scrape(2, 0)
	if _, err := s.Compact(ctx, store.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	scrape(3, 0)
	s.Close()
	if _, err := s.Contents(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Contents after Close = %v, want ErrClosed", err)
	}
}
