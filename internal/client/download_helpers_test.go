package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// dlServer starts an ebsd and returns it with an SDK client whose
// connection pool fits a few workers.
func dlServer(tb testing.TB, opts ebstest.Options) (*ebstest.Server, *ebs.Client) {
	tb.Helper()
	srv := ebstest.Start(tb, opts)
	hc := dlHTTPClient(nil)
	// Before the server stops: a connection the transport dialed but
	// never used is "new" to the server, whose graceful shutdown waits
	// 5 s for it unless the client closes it.
	tb.Cleanup(hc.CloseIdleConnections)
	return srv, ebstest.NewClient(srv.URL, ebstest.Alice, hc)
}

// dlHTTPClient returns an HTTP client with a pool for 64 connections, over
// rt (nil: a fresh default transport).
func dlHTTPClient(rt http.RoundTripper) *http.Client {
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = 64, 64
		rt = tr
	}
	return &http.Client{Transport: rt, Timeout: time.Minute}
}

// dlRetry retries like the default policy, without the waiting.
var dlRetry = client.RetryPolicy{
	MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
	AttemptTimeout: 30 * time.Second, TotalTimeout: time.Minute,
}

// dlClient returns a transfer client over api with its own state
// directory.
func dlClient(tb testing.TB, api client.API, workers int, obs client.Observer) (*client.Client, string) {
	tb.Helper()
	state := tb.TempDir()
	return client.New(api, client.Options{Workers: workers, Retry: dlRetry, StateDir: state, Observer: obs}), state
}

// dlSpec describes a snapshot to create.
type dlSpec struct {
	VolumeSize int64 // GiB; 0 = 1
	Parent     string
	Encrypted  bool
	Blocks     map[int32][]byte // this snapshot's own writes
}

// dlSnapshot creates and completes a snapshot with the SDK directly,
// putting blocks from a few goroutines.
func dlSnapshot(tb testing.TB, api *ebs.Client, s dlSpec) string {
	tb.Helper()
	id := dlStart(tb, api, s)
	dlPut(tb, api, id, s.Blocks)
	dlComplete(tb, api, id, s.Blocks)
	return id
}

func dlStart(tb testing.TB, api *ebs.Client, s dlSpec) string {
	tb.Helper()
	if s.VolumeSize == 0 {
		s.VolumeSize = 1
	}
	in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(s.VolumeSize)}
	if s.Parent != "" {
		in.ParentSnapshotId = aws.String(s.Parent)
	}
	if s.Encrypted {
		in.Encrypted = aws.Bool(true)
	}
	out, err := api.StartSnapshot(context.Background(), in)
	if err != nil {
		tb.Fatalf("StartSnapshot: %v", err)
	}
	return *out.SnapshotId
}

func dlPut(tb testing.TB, api *ebs.Client, id string, blocks map[int32][]byte) {
	tb.Helper()
	work := make(chan int32)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				b := blocks[i]
				_, err := api.PutSnapshotBlock(context.Background(), &ebs.PutSnapshotBlockInput{
					SnapshotId: aws.String(id), BlockIndex: aws.Int32(i), BlockData: bytes.NewReader(b),
					DataLength: aws.Int32(int32(len(b))), Checksum: aws.String(ebstest.Checksum(b)),
					ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	func() {
		defer close(work)
		for i := range blocks {
			select {
			case work <- i:
			case err := <-errs:
				tb.Fatalf("PutSnapshotBlock: %v", err)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("PutSnapshotBlock: %v", err)
	}
}

func dlComplete(tb testing.TB, api *ebs.Client, id string, blocks map[int32][]byte) {
	tb.Helper()
	idx := make([]int32, 0, len(blocks))
	for i := range blocks {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	ordered := make([][]byte, len(idx))
	for k, i := range idx {
		ordered[k] = blocks[i]
	}
	count := int32(len(blocks))
	_, err := api.CompleteSnapshot(context.Background(), &ebs.CompleteSnapshotInput{
		SnapshotId: aws.String(id), ChangedBlocksCount: &count,
		Checksum:                  aws.String(ebstest.Linear(ordered...)),
		ChecksumAlgorithm:         types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	})
	if err != nil {
		tb.Fatalf("CompleteSnapshot: %v", err)
	}
	out, err := api.CompleteSnapshot(context.Background(), &ebs.CompleteSnapshotInput{SnapshotId: aws.String(id), ChangedBlocksCount: &count})
	if err != nil || out.Status != types.StatusCompleted {
		tb.Fatalf("snapshot %s: status %v, err %v; want completed", id, out, err)
	}
}

// merge returns what a child snapshot holds: the parent's blocks with the
// child's writes over them.
func dlMerge(layers ...map[int32][]byte) map[int32][]byte {
	out := map[int32][]byte{}
	for _, l := range layers {
		for i, b := range l {
			out[i] = b
		}
	}
	return out
}

// dlRandomBlocks returns n random blocks (zero ones among them, one in
// zeroEvery, if zeroEvery > 0) at distinct random indexes of a volume of
// vol blocks, from seed.
func dlRandomBlocks(seed uint64, n int, vol int32, zeroEvery int) map[int32][]byte {
	out := map[int32][]byte{}
	r := seed
	for k := 0; len(out) < n; k++ {
		r = r*6364136223846793005 + 1442695040888963407
		i := int32((r >> 33) % uint64(vol))
		if _, dup := out[i]; dup {
			continue
		}
		if zeroEvery > 0 && len(out)%zeroEvery == zeroEvery-1 {
			out[i] = make([]byte, client.BlockSize)
		} else {
			out[i] = ebstest.Random(seed*1000003 + uint64(i))
		}
	}
	return out
}

// dlCheckSparse checks that the file at path is exactly the volume of
// vol GiB holding blocks (the rest zeros), that every all-zero or missing
// block is a hole, and that every non-zero block reads back bit-exact.
func dlCheckSparse(tb testing.TB, path string, vol int64, blocks map[int32][]byte) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	if got, want := fi.Size(), vol<<30; got != want {
		tb.Fatalf("size = %d, want %d", got, want)
	}
	buf := make([]byte, client.BlockSize)
	zero := make([]byte, client.BlockSize)
	for i := int32(0); i < int32(vol<<30/client.BlockSize); i++ {
		want, listed := blocks[i]
		data := listed && !bytes.Equal(want, zero)
		off := int64(i) * client.BlockSize
		if !data {
			if !dlIsHole(tb, f, off) {
				tb.Fatalf("block %d (listed %v) is not a hole", i, listed)
			}
			continue
		}
		if _, err := f.ReadAt(buf, off); err != nil {
			tb.Fatal(err)
		}
		if !bytes.Equal(buf, want) {
			tb.Fatalf("block %d differs", i)
		}
	}
}

// dlIsHole reports whether the block at off of f holds no data
// (SEEK_DATA finds none before its end).
func dlIsHole(tb testing.TB, f *os.File, off int64) bool {
	tb.Helper()
	const seekData = 3 // SEEK_DATA
	next, err := syscall.Seek(int(f.Fd()), off, seekData)
	if errors.Is(err, syscall.ENXIO) {
		return true // no data after off
	}
	if err != nil {
		tb.Fatalf("SEEK_DATA: %v", err)
	}
	return next >= off+client.BlockSize
}

// dlCheckBlocks checks blocks of the file at path: block i must be
// want(i) (nil: zeros).
func dlCheckBlocks(tb testing.TB, path string, blocks []int64, want func(i int64) []byte) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, client.BlockSize)
	zero := make([]byte, client.BlockSize)
	for _, i := range blocks {
		if _, err := f.ReadAt(got, i*client.BlockSize); err != nil {
			tb.Fatalf("block %d: %v", i, err)
		}
		w := want(i)
		if w == nil {
			w = zero
		}
		if !bytes.Equal(got, w) {
			tb.Fatalf("block %d differs", i)
		}
	}
}

// dlCheckManifest checks the manifest the download saved.
func dlCheckManifest(tb testing.TB, state, id string, vol int64, blocks map[int32][]byte) {
	tb.Helper()
	m, err := client.LoadManifest(state, id)
	if err != nil {
		tb.Fatalf("manifest: %v", err)
	}
	if m.VolumeSize != vol || m.Len() != len(blocks) {
		tb.Fatalf("manifest: volume %d, %d blocks; want %d, %d", m.VolumeSize, m.Len(), vol, len(blocks))
	}
	for i, b := range blocks {
		if d, _ := m.Digest(i); d != sha256.Sum256(b) {
			tb.Fatalf("manifest: digest of block %d is wrong", i)
		}
	}
}

// hookedAPI wraps a client.API, counting calls, and lets a test replace
// GetSnapshotBlock and ListSnapshotBlocks (the hooks may call the inner
// API themselves).
type hookedAPI struct {
	client.API
	get     func(ctx context.Context, in *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error)
	list    func(ctx context.Context, in *ebs.ListSnapshotBlocksInput) (*ebs.ListSnapshotBlocksOutput, error)
	changed func(ctx context.Context, in *ebs.ListChangedBlocksInput) (*ebs.ListChangedBlocksOutput, error)

	gets, lists, diffs, completes atomic.Int64
}

func (h *hookedAPI) GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, o ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error) {
	h.gets.Add(1)
	if h.get != nil {
		return h.get(ctx, in)
	}
	return h.API.GetSnapshotBlock(ctx, in, o...)
}

func (h *hookedAPI) ListSnapshotBlocks(ctx context.Context, in *ebs.ListSnapshotBlocksInput, o ...func(*ebs.Options)) (*ebs.ListSnapshotBlocksOutput, error) {
	h.lists.Add(1)
	if h.list != nil {
		return h.list(ctx, in)
	}
	return h.API.ListSnapshotBlocks(ctx, in, o...)
}

func (h *hookedAPI) ListChangedBlocks(ctx context.Context, in *ebs.ListChangedBlocksInput, o ...func(*ebs.Options)) (*ebs.ListChangedBlocksOutput, error) {
	h.diffs.Add(1)
	if h.changed != nil {
		return h.changed(ctx, in)
	}
	return h.API.ListChangedBlocks(ctx, in, o...)
}

func (h *hookedAPI) CompleteSnapshot(ctx context.Context, in *ebs.CompleteSnapshotInput, o ...func(*ebs.Options)) (*ebs.CompleteSnapshotOutput, error) {
	h.completes.Add(1)
	return h.API.CompleteSnapshot(ctx, in, o...)
}

// dlObserver counts outcomes and retries.
type dlObserver struct {
	written, zero, resumed, retries atomic.Int64
}

func (o *dlObserver) Begin(string, int64, int64) {}
func (o *dlObserver) Block(out client.Outcome, _ int64) {
	switch out {
	case client.Written:
		o.written.Add(1)
	case client.Zero:
		o.zero.Add(1)
	case client.Resumed:
		o.resumed.Add(1)
	}
}
func (o *dlObserver) Retry(string, int, time.Duration, error) { o.retries.Add(1) }
func (o *dlObserver) End()                                    {}
