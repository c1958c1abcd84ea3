package snapexport

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// countedGets counts the GetSnapshotBlock calls per block and, while
// hold is open, holds them until it is closed.
type countedGets struct {
	client.API
	hold chan struct{} // nil: no holding

	mu   sync.Mutex
	gets map[int32]int
	seen chan struct{} // a token per call
}

func newCountedGets(api client.API, hold bool) *countedGets {
	c := &countedGets{API: api, gets: map[int32]int{}, seen: make(chan struct{}, 1024)}
	if hold {
		c.hold = make(chan struct{})
	}
	return c
}

func (c *countedGets) GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, opt ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error) {
	c.mu.Lock()
	c.gets[aws.ToInt32(in.BlockIndex)]++
	c.mu.Unlock()
	c.seen <- struct{}{}
	if c.hold != nil {
		<-c.hold
	}
	return c.API.GetSnapshotBlock(ctx, in, opt...)
}

// distinct returns how many blocks were asked for, and the most times one
// was.
func (c *countedGets) distinct() (blocks, most int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.gets {
		most = max(most, n)
	}
	return len(c.gets), most
}

// denseSnapshot makes a snapshot of n random blocks from block 0.
func denseSnapshot(t *testing.T, e *env, n int32) (string, map[int32][]byte) {
	t.Helper()
	blocks := map[int32][]byte{}
	for i := range n {
		blocks[i] = ebstest.Random(uint64(i) + 7)
	}
	return e.snapshot(t, 1, "", blocks), blocks
}

// TestReadAheadStartsOnArrival: a read that continues a sequential one
// starts the fetches ahead at once, while the reads themselves still
// wait for their block: the window is a round trip further ahead than if
// it started when they are answered.
func TestReadAheadStartsOnArrival(t *testing.T) {
	e := newEnv(t)
	id, blocks := denseSnapshot(t, e, 16)
	api := newCountedGets(e.api, true)
	ctx := context.Background()
	ex, err := Open(ctx, Options{Client: e.client(api, nil), SnapshotID: id, CacheBlocks: 64, ReadAhead: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	want := volume(blocks)
	var wg sync.WaitGroup
	read := func(off int64) {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			if err := ex.ReadAt(ctx, buf, off); err != nil {
				t.Error(err)
			} else if !bytes.Equal(buf, want[off:off+int64(len(buf))]) {
				t.Errorf("read at %d differs", off)
			}
		})
	}
	read(0)
	<-api.seen // block 0 is being fetched: the second read continues the first
	read(256 << 10)
	deadline := time.After(5 * time.Second)
	for n := 1; n < 3; n++ { // block 0, then at least 1 and 2 ahead
		select {
		case <-api.seen:
		case <-deadline:
			close(api.hold)
			wg.Wait()
			t.Fatalf("%d blocks asked for while the reads wait, want 3 (block 0 and 2 ahead)", n)
		}
	}
	close(api.hold)
	wg.Wait()
}

// TestReadAheadFetchesEachBlockOnce: parallel sequential reads (a client
// with many requests in flight, as nbdcopy) fetch every block once, and
// the read-ahead never holds a slot for a block already being fetched.
func TestReadAheadFetchesEachBlockOnce(t *testing.T) {
	e := newEnv(t)
	const n = 64
	id, blocks := denseSnapshot(t, e, n)
	api := newCountedGets(e.api, false)
	ctx := context.Background()
	ex, err := Open(ctx, Options{Client: e.client(api, nil), SnapshotID: id, CacheBlocks: 2 * n, ReadAhead: 16})
	if err != nil {
		t.Fatal(err)
	}
	want := volume(blocks)
	offs := make(chan int64)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			buf := make([]byte, 128<<10)
			for off := range offs {
				if err := ex.ReadAt(ctx, buf, off); err != nil {
					t.Error(err)
				} else if !bytes.Equal(buf, want[off:off+int64(len(buf))]) {
					t.Errorf("read at %d differs", off)
				}
			}
		})
	}
	for off := int64(0); off < n*blockSize; off += 128 << 10 {
		offs <- off
	}
	close(offs)
	wg.Wait()
	ex.Close() // waits for the read-ahead
	st := ex.Stats()
	if got, most := api.distinct(); got != n || most != 1 {
		t.Fatalf("%d blocks fetched, one of them %d times; want %d, each once", got, most, n)
	}
	if st.ReadAhead > st.Fetched || st.ReadAhead == 0 {
		t.Fatalf("stats %+v: %d blocks read ahead of %d fetched", st, st.ReadAhead, st.Fetched)
	}
}

// TestRandomReadsFetchNothingAhead: reads that continue no earlier read,
// even next to cached blocks, fetch only what they read.
func TestRandomReadsFetchNothingAhead(t *testing.T) {
	e := newEnv(t)
	id, blocks := denseSnapshot(t, e, 200)
	api := newCountedGets(e.api, false)
	ctx := context.Background()
	ex, err := Open(ctx, Options{Client: e.client(api, nil), SnapshotID: id, CacheBlocks: 64, ReadAhead: 8})
	if err != nil {
		t.Fatal(err)
	}
	want := volume(blocks)
	buf := make([]byte, 4096)
	for _, off := range []int64{
		100 * blockSize,
		101*blockSize + 300<<10, // the next block, not where the last read ended
		50 * blockSize,
		51*blockSize + 300<<10,
		150*blockSize + 8192,
	} {
		if err := ex.ReadAt(ctx, buf, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, want[off:off+int64(len(buf))]) {
			t.Fatalf("read at %d differs", off)
		}
	}
	ex.Close()
	if got, _ := api.distinct(); got != 5 || ex.Stats().ReadAhead != 0 {
		t.Fatalf("%d blocks fetched, %d of them ahead; want the 5 read, none ahead", got, ex.Stats().ReadAhead)
	}
}

// TestStreams: which reads get read-ahead, and how much.
func TestStreams(t *testing.T) {
	const k = 256 << 10
	type read struct{ off, n int64 }
	for _, tc := range []struct {
		name  string
		reads []read
		want  []int
	}{
		{"sequential ramps up to the most", []read{{0, k}, {k, k}, {2 * k, k}, {3 * k, k}, {4 * k, k}, {5 * k, k}, {6 * k, k}}, []int{0, 2, 4, 8, 16, 16, 16}},
		{"random reads get none", []read{{0, 4096}, {100 * blockSize, 4096}, {37 * blockSize, 4096}, {3 * blockSize, 4096}}, []int{0, 0, 0, 0}},
		{"a little out of order continues", []read{{0, k}, {2 * k, k}, {k, k}, {3 * k, k}}, []int{0, 2, 4, 8}},
		{"far behind is another stream", []read{{0, k}, {k, k}, {10 * blockSize, k}, {2 * k, k}}, []int{0, 2, 0, 4}},
		{"two interleaved streams", []read{{0, k}, {1 << 30, k}, {k, k}, {1<<30 + k, k}, {2 * k, k}}, []int{0, 0, 2, 2, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ss streams
			for j, r := range tc.reads {
				if got := ss.observe(r.off, r.n, 16); got != tc.want[j] {
					t.Fatalf("read %d (%d bytes at %d): window %d, want %d", j, r.n, r.off, got, tc.want[j])
				}
			}
		})
	}
}

// TestLentBlocksOutliveEviction: the bytes ReadSlices lends stay those of
// their block while lent, even when the cache drops the block and fetches
// many others into reused buffers; once given back, buffers are reused
// instead of allocated.
func TestLentBlocksOutliveEviction(t *testing.T) {
	e := newEnv(t)
	const n = 40
	id, blocks := denseSnapshot(t, e, n)
	ctx := context.Background()
	ex, err := Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: id, CacheBlocks: 4, ReadAhead: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	want := volume(blocks)
	lent, release, err := ex.ReadSlices(ctx, 3*blockSize-4096, 8192) // the end of block 2, the start of 3
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for i := int64(4); i < n; i++ { // every block but those lent passes through the cache
		if err := ex.ReadAt(ctx, buf, i*blockSize); err != nil {
			t.Fatal(err)
		}
	}
	if got := bytes.Join(lent, nil); !bytes.Equal(got, want[3*blockSize-4096:3*blockSize+4096]) {
		t.Fatal("lent bytes changed while lent")
	}
	release()
	made, reused := ex.cache.buffers()
	if made > 4+2+maxFree || reused < n-4-made {
		t.Fatalf("%d buffers made, %d reused for %d blocks fetched through a cache of 4", made, reused, n-2)
	}
	for i := int64(0); i < n; i++ { // and the cache still answers right
		if err := ex.ReadAt(ctx, buf, i*blockSize+100); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, want[i*blockSize+100:i*blockSize+100+int64(len(buf))]) {
			t.Fatalf("block %d reads wrong after reuse", i)
		}
	}
}
