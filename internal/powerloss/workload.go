package powerloss

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// volumeGiB is the size of every volume: room for the unique indexes of a
// whole scenario.
const volumeGiB = 64

// Timeouts of the snapshots the workload starts, in minutes: uploads use
// the longest AWS allows, abandoned snapshots the shortest, so that the
// sweeper times out only those.
const (
	activeTimeout    = 4320
	abandonedTimeout = 10
)

// pool is the contents the workload writes: a small set, so that most
// Puts are deduplication hits against blocks stored by other snapshots,
// cycles and crashes.
type pool struct {
	data    [][]byte
	digests []ebs.Digest
}

func newPool(n int, seed uint64) *pool {
	p := &pool{}
	for i := range n {
		b := block(seed<<20 | uint64(i))
		if i == 0 {
			b = make([]byte, ebs.BlockSize) // the zero block, which stores no data
		}
		p.data = append(p.data, b)
		p.digests = append(p.digests, digestOf(b))
	}
	return p
}

// workload drives one service with concurrent uploads until ctx ends.
type workload struct {
	svc     *snapshot.Service
	ledger  *ledger
	pool    *pool
	nextIdx *atomic.Int32 // every Put of a scenario gets its own index
	rng     *rand.Rand
	account string
}

// run is one worker: it uploads snapshots, full or incremental on a
// completed one, and abandons some. It returns nil when ctx ends and an
// error for anything the service should never answer to a valid request.
func (w *workload) run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := w.snapshot(ctx); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

func (w *workload) snapshot(ctx context.Context) error {
	abandon := w.rng.IntN(8) == 0
	timeout := int64(activeTimeout)
	if abandon {
		timeout = abandonedTimeout
	}
	size := int64(volumeGiB)
	token := fmt.Sprintf("pl-%016x", w.rng.Uint64())
	in := snapshot.StartInput{AccountID: w.account, VolumeSize: &size, ClientToken: &token, Timeout: &timeout}
	var parent string
	if parents := w.ledger.completedSnapshots(w.account); len(parents) > 0 && w.rng.IntN(2) == 0 {
		parent = parents[w.rng.IntN(len(parents))]
		in.ParentSnapshotID = &parent
	}
	out, err := w.svc.StartSnapshot(ctx, in)
	if err != nil {
		return fmt.Errorf("StartSnapshot: %w", err)
	}
	id := out.SnapshotID
	w.ledger.started(id, w.account, parent, abandon)

	type written struct {
		index  int32
		digest ebs.Digest
	}
	var puts []written
	for range 1 + w.rng.IntN(6) {
		index := w.nextIdx.Add(1)
		if index >= volumeGiB*2048 {
			return nil // the scenario used its volume up
		}
		k := w.rng.IntN(len(w.pool.data))
		if err := w.put(ctx, id, index, k); err != nil {
			if abandon {
				return nil // the sweeper may time it out at any moment
			}
			return err
		}
		w.ledger.put(id, index, w.pool.digests[k])
		puts = append(puts, written{index, w.pool.digests[k]})
	}
	if abandon {
		return nil
	}
	slices.SortFunc(puts, func(a, b written) int { return int(a.index - b.index) })
	digests := make([]ebs.Digest, len(puts))
	for i, p := range puts {
		digests[i] = p.digest
	}
	count := strconv.Itoa(len(puts))
	sum, alg, method := linear(digests), "SHA256", "LINEAR"
	_, err = w.svc.CompleteSnapshot(ctx, snapshot.CompleteInput{AccountID: w.account, SnapshotID: id,
		ChangedBlocksCount: &count, Checksum: &sum, ChecksumAlgorithm: &alg, ChecksumAggregationMethod: &method})
	if err != nil {
		return fmt.Errorf("CompleteSnapshot %s: %w", id, err)
	}
	w.ledger.completed(id)
	return nil
}

func (w *workload) put(ctx context.Context, id string, index int32, k int) error {
	idx := strconv.Itoa(int(index))
	length, alg := strconv.Itoa(ebs.BlockSize), "SHA256"
	sum := b64(w.pool.digests[k])
	_, err := w.svc.PutSnapshotBlock(ctx, snapshot.PutBlockInput{AccountID: w.account, SnapshotID: id,
		BlockIndex: idx, DataLength: &length, Checksum: &sum, ChecksumAlgorithm: &alg,
		Body: bytes.NewReader(w.pool.data[k])})
	if err != nil {
		return fmt.Errorf("PutSnapshotBlock %s/%d: %w", id, index, err)
	}
	return nil
}
