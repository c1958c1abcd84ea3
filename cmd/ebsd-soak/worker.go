package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
)

// Shape of each worker's snapshots: a 1 GiB volume of which the first
// 256 blocks are used, 1 to 32 puts each, 4 verified gets.
const (
	volumeGiB     = 1
	indexSpace    = 256
	maxPuts       = 32
	getsPerSnap   = 4
	callTimeout   = time.Minute
	maxThrottles  = 8 // attempts of one call before giving up on it
	completePolls = 50
)

// view is what a snapshot holds, as the worker wrote it: content ID by
// block index, inherited blocks included.
type view map[int32]uint64

// snap is a completed snapshot of the worker's.
type snap struct {
	id     string
	blocks view
}

// worker drives one SDK client through snapshot lifecycles.
type worker struct {
	c        *ebs.Client
	contents *contents
	stats    *stats
	fresh    float64
	r        *rand.Rand
	buf      []byte
	last     *snap // the previous completed snapshot, parent of the next incremental
}

// run loops until ctx is done. An iteration that fails is abandoned (its
// snapshot stays pending until the server times it out) and the next one
// starts full.
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		s, ok := w.iteration(ctx)
		if ok {
			w.last = s
		} else {
			w.last = nil
		}
	}
}

// iteration runs one snapshot's life and reports whether it went through.
func (w *worker) iteration(ctx context.Context) (*snap, bool) {
	parent := w.last
	if parent != nil && w.r.IntN(2) == 0 {
		parent = nil // a full snapshot half the time
	}
	in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(volumeGiB), Timeout: aws.Int32(10)}
	s := &snap{blocks: view{}}
	if parent != nil {
		in.ParentSnapshotId = aws.String(parent.id)
		maps.Copy(s.blocks, parent.blocks)
	}
	var start *ebs.StartSnapshotOutput
	if !w.call(ctx, "StartSnapshot", func(ctx context.Context) (err error) {
		start, err = w.c.StartSnapshot(ctx, in)
		return err
	}) {
		return nil, false
	}
	s.id = *start.SnapshotId

	// Distinct indexes, so that ChangedBlocksCount is the number of puts.
	written := w.r.Perm(indexSpace)[:1+w.r.IntN(maxPuts)]
	slices.Sort(written)
	for _, i := range written {
		id := w.contents.pick(w.r, w.fresh)
		sum := w.contents.fill(w.buf, id)
		if !w.call(ctx, "PutSnapshotBlock", func(ctx context.Context) error {
			_, err := w.c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
				SnapshotId: &s.id, BlockIndex: aws.Int32(int32(i)), BlockData: bytes.NewReader(w.buf),
				DataLength: aws.Int32(blockSize), Checksum: aws.String(b64(sum)),
				ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
			})
			return err
		}) {
			return nil, false
		}
		s.blocks[int32(i)] = id
	}
	if !w.complete(ctx, s, written) ||
		!w.checkList(ctx, s) ||
		!w.checkGets(ctx, s) {
		return nil, false
	}
	if parent != nil && !w.checkChanged(ctx, parent, s, written) {
		return nil, false
	}
	return s, true
}

// complete seals s with the LINEAR checksum of its own writes and polls
// until it is completed.
func (w *worker) complete(ctx context.Context, s *snap, written []int) bool {
	agg := sha256.New()
	for _, i := range written {
		d := w.contents.digest(s.blocks[int32(i)])
		agg.Write(d[:])
	}
	var sum [32]byte
	agg.Sum(sum[:0])
	in := &ebs.CompleteSnapshotInput{
		SnapshotId: &s.id, ChangedBlocksCount: aws.Int32(int32(len(written))),
		Checksum: aws.String(b64(sum)), ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	}
	for range completePolls {
		var out *ebs.CompleteSnapshotOutput
		if !w.call(ctx, "CompleteSnapshot", func(ctx context.Context) (err error) {
			out, err = w.c.CompleteSnapshot(ctx, in)
			return err
		}) {
			return false
		}
		switch out.Status {
		case types.StatusCompleted:
			return true
		case types.StatusError:
			w.stats.mismatch("%s: CompleteSnapshot says error for %d blocks with the right LINEAR checksum", s.id, len(written))
			return false
		}
		if !sleep(ctx, 20*time.Millisecond) {
			return false
		}
	}
	w.stats.mismatch("%s: still pending after %d CompleteSnapshot calls", s.id, completePolls)
	return false
}

// checkList lists s's blocks, in pages of 100, and compares the indexes
// with the expected view (the parent's blocks included).
func (w *worker) checkList(ctx context.Context, s *snap) bool {
	got := map[int32]bool{}
	var next *string
	for {
		var out *ebs.ListSnapshotBlocksOutput
		if !w.call(ctx, "ListSnapshotBlocks", func(ctx context.Context) (err error) {
			out, err = w.c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &s.id, MaxResults: aws.Int32(100), NextToken: next})
			return err
		}) {
			return false
		}
		for _, b := range out.Blocks {
			got[*b.BlockIndex] = true
			if b.BlockToken == nil {
				w.stats.mismatch("%s: block %d listed without a token", s.id, *b.BlockIndex)
			}
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	if !sameKeys(got, s.blocks) {
		w.stats.mismatch("%s: ListSnapshotBlocks has %d blocks %v, want %d %v", s.id, len(got), sortedKeys(got), len(s.blocks), sortedKeys(s.blocks))
		return false
	}
	return true
}

// checkGets reads getsPerSnap blocks of s's view and checks each against
// what was written, through a fresh token from ListSnapshotBlocks.
func (w *worker) checkGets(ctx context.Context, s *snap) bool {
	indexes := sortedKeys(s.blocks)
	for range min(getsPerSnap, len(indexes)) {
		i := indexes[w.r.IntN(len(indexes))]
		var list *ebs.ListSnapshotBlocksOutput
		if !w.call(ctx, "ListSnapshotBlocks", func(ctx context.Context) (err error) {
			list, err = w.c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &s.id, StartingBlockIndex: aws.Int32(i), MaxResults: aws.Int32(100)})
			return err
		}) {
			return false
		}
		if len(list.Blocks) == 0 || *list.Blocks[0].BlockIndex != i {
			w.stats.mismatch("%s: ListSnapshotBlocks from %d does not start at %d", s.id, i, i)
			return false
		}
		if !w.getAndVerify(ctx, s.id, i, *list.Blocks[0].BlockToken, s.blocks[i]) {
			return false
		}
	}
	return true
}

// checkChanged compares ListChangedBlocks(parent, s) with the puts: it
// compares writes, not contents, and names the parent's token exactly for
// the indexes the parent has. One changed block that the parent has is
// read back through the parent's token.
func (w *worker) checkChanged(ctx context.Context, parent, s *snap, written []int) bool {
	got := map[int32]bool{}
	var next *string
	var parentRead bool
	for {
		var out *ebs.ListChangedBlocksOutput
		if !w.call(ctx, "ListChangedBlocks", func(ctx context.Context) (err error) {
			out, err = w.c.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{
				FirstSnapshotId: &parent.id, SecondSnapshotId: &s.id, MaxResults: aws.Int32(100), NextToken: next})
			return err
		}) {
			return false
		}
		for _, b := range out.ChangedBlocks {
			i := *b.BlockIndex
			got[i] = true
			_, inParent := parent.blocks[i]
			if (b.FirstBlockToken != nil) != inParent || b.SecondBlockToken == nil {
				w.stats.mismatch("%s vs %s: block %d has first token %v (parent has it: %v), second token %v",
					parent.id, s.id, i, b.FirstBlockToken != nil, inParent, b.SecondBlockToken != nil)
				return false
			}
			if inParent && !parentRead {
				parentRead = true
				if !w.getAndVerify(ctx, parent.id, i, *b.FirstBlockToken, parent.blocks[i]) {
					return false
				}
			}
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	want := map[int32]bool{}
	for _, i := range written {
		want[int32(i)] = true
	}
	if !sameKeys(got, want) {
		w.stats.mismatch("%s vs %s: ListChangedBlocks has %v, want %v", parent.id, s.id, sortedKeys(got), sortedKeys(want))
		return false
	}
	return true
}

// getAndVerify reads block i of snapshot id and checks its length, its
// checksum header and its content against content ID want.
func (w *worker) getAndVerify(ctx context.Context, id string, i int32, token string, want uint64) bool {
	wantSum := w.contents.digest(want)
	return w.call(ctx, "GetSnapshotBlock", func(ctx context.Context) error {
		out, err := w.c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: aws.Int32(i), BlockToken: &token})
		if err != nil {
			return err
		}
		defer out.BlockData.Close()
		// A body cut short is a transport error (or the soak ending), not
		// a mismatch: the SDK checks it against Content-Length.
		if _, err := io.ReadFull(out.BlockData, w.buf); err != nil {
			return fmt.Errorf("read block: %w", err)
		}
		extra, err := io.Copy(io.Discard, out.BlockData)
		if err != nil {
			return fmt.Errorf("read block: %w", err)
		}
		switch got := sha256.Sum256(w.buf); {
		case extra != 0:
			w.stats.mismatch("%s block %d: %d bytes, want %d", id, i, blockSize+extra, blockSize)
		case got != wantSum:
			w.stats.mismatch("%s block %d: content %s, want %s", id, i, b64(got), b64(wantSum))
		case aws.ToString(out.Checksum) != b64(wantSum):
			w.stats.mismatch("%s block %d: checksum header %q, want %s", id, i, aws.ToString(out.Checksum), b64(wantSum))
		}
		return nil
	})
}

// call runs one API call with a timeout, retrying throttling with backoff
// and counting the outcome. It reports whether the call succeeded.
func (w *worker) call(ctx context.Context, op string, f func(context.Context) error) bool {
	backoff := 50 * time.Millisecond
	for range maxThrottles {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := f(cctx)
		cancel()
		switch {
		case err == nil:
			w.stats.ok(op)
			return true
		case ctx.Err() != nil:
			return false // the soak is over; not the server's fault
		case isThrottling(err):
			w.stats.throttle(op)
			if !sleep(ctx, backoff/2+time.Duration(w.r.Int64N(int64(backoff)))) {
				return false
			}
			backoff = min(2*backoff, 2*time.Second)
		default:
			w.stats.fail(op, err)
			return false
		}
	}
	return false // throttled throughout: counted, not an error
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func sameKeys[A, B any](a map[int32]A, b map[int32]B) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[int32]V) []int32 {
	return slices.Sorted(maps.Keys(m))
}
