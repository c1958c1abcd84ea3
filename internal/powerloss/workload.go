package powerloss

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
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

// workload drives one service as one client until ctx ends: it uploads
// snapshots (full, incremental, encrypted; writes that overwrite and
// shadow), abandons some, deletes snapshots of every kind, copies them,
// and reads them back.
type workload struct {
	svc     *snapshot.Service
	meta    store.MetaStore
	ledger  *ledger
	pool    *pool
	buf     []byte        // a cold content being written
	nextIdx *atomic.Int32 // fresh indexes of the scenario
	rng     *rand.Rand
	account string
	clk     *clock
	tokens  *tokenBook
	tally   *tally
	gc      *gcState // kicked after a delete, so that a collection runs at once
}

// run is one worker. It returns nil when ctx ends and an error for
// anything the service should never answer to a valid request.
func (w *workload) run(ctx context.Context) error {
	for ctx.Err() == nil {
		var err error
		switch n := w.rng.IntN(100); {
		case n < 60:
			err = w.upload(ctx)
		case n < 72:
			err = w.copy(ctx)
		case n < 86:
			err = w.delete(ctx)
		case n < 90:
			err = w.refreshCopies(ctx)
		default:
			err = w.read(ctx)
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// upload starts a snapshot, writes a few blocks and completes it, or
// abandons it, or deletes it before completing it.
func (w *workload) upload(ctx context.Context) error {
	abandon := w.rng.IntN(8) == 0
	timeout := int64(activeTimeout)
	if abandon {
		timeout = abandonedTimeout
	}
	size := int64(volumeGiB)
	token := fmt.Sprintf("pl-%016x", w.rng.Uint64())
	in := snapshot.StartInput{AccountID: w.account, VolumeSize: &size, ClientToken: &token, Timeout: &timeout}
	rec := &snapRecord{account: w.account, abandoned: abandon, timeout: time.Duration(timeout) * time.Minute}
	if w.rng.IntN(2) == 0 {
		rec.parent, rec.encrypted = w.ledger.pickReadable(w.rng, w.account)
	}
	if rec.parent != "" {
		in.ParentSnapshotID = &rec.parent
	} else if w.rng.IntN(6) == 0 {
		rec.encrypted = true
		in.Encrypted = &rec.encrypted
	}
	at := w.clk.now()
	out, err := w.svc.StartSnapshot(ctx, in)
	if err != nil {
		if rec.parent != "" && isNotFound(err) && w.ledger.isDeleting(rec.parent) {
			return nil // the parent was deleted meanwhile
		}
		return fmt.Errorf("StartSnapshot: %w", err)
	}
	rec.id, rec.lastAck = out.SnapshotID, at
	w.ledger.started(rec)
	id := rec.id

	var shadow []int32 // the parent's own indexes, which a write may shadow
	if rec.parent != "" {
		shadow = w.ledger.ownIndexes(rec.parent)
	}
	// Most uploads are small; a few are large, so that some views take a
	// re-seal copy's job many rounds to read (see copy).
	writes := 1 + w.rng.IntN(6)
	if w.rng.IntN(16) == 0 {
		writes = 16 + w.rng.IntN(32)
	}
	own := make(map[int32]ebs.Digest)
	for range writes {
		index := w.index(own, shadow)
		if index < 0 {
			break // the scenario used its volume up
		}
		data, digest := w.pool.pick(w.rng, &w.buf)
		w.ledger.attempt(id, index, digest)
		at := w.clk.now()
		if err := w.put(ctx, id, index, data, digest); err != nil {
			if (abandon && timedOut(err)) || w.goneWhileDeleted(err, id) {
				return nil // timed out, or deleted by another worker
			}
			return err
		}
		w.ledger.put(id, index, digest, at)
		own[index] = digest
	}
	switch {
	case abandon:
		return nil
	case w.rng.IntN(12) == 0:
		return w.deleteOwn(ctx, id)
	}
	indexes := slices.Sorted(maps.Keys(own))
	digests := make([]ebs.Digest, len(indexes))
	for i, index := range indexes {
		digests[i] = own[index]
	}
	count := strconv.Itoa(len(indexes))
	sum, alg, method := linear(digests), "SHA256", "LINEAR"
	res, err := w.svc.CompleteSnapshot(ctx, snapshot.CompleteInput{AccountID: w.account, SnapshotID: id,
		ChangedBlocksCount: &count, Checksum: &sum, ChecksumAlgorithm: &alg, ChecksumAggregationMethod: &method})
	switch {
	case err != nil && w.goneWhileDeleted(err, id):
		return nil
	case err != nil:
		return fmt.Errorf("CompleteSnapshot %s: %w", id, err)
	case res.Status == ebs.StatusError:
		return nil // timed out first; verify decides whether it could
	}
	w.ledger.completed(id)
	return nil
}

// index chooses where the next write of a snapshot goes: mostly a fresh
// index, sometimes one the snapshot wrote already (an overwrite, which
// leaves the old content to the collector) or one its parent wrote (a
// shadowing write). It returns -1 when the volume is used up.
func (w *workload) index(own map[int32]ebs.Digest, shadow []int32) int32 {
	switch n := w.rng.IntN(100); {
	case n < 15 && len(own) > 0:
		written := slices.Sorted(maps.Keys(own))
		return written[w.rng.IntN(len(written))]
	case n < 30 && len(shadow) > 0:
		return shadow[w.rng.IntN(len(shadow))]
	}
	index := w.nextIdx.Add(1)
	if index >= volumeGiB*2048 {
		return -1
	}
	return index
}

func (w *workload) put(ctx context.Context, id string, index int32, data []byte, digest ebs.Digest) error {
	idx := strconv.Itoa(int(index))
	length, alg := strconv.Itoa(ebs.BlockSize), "SHA256"
	sum := b64(digest)
	_, err := w.svc.PutSnapshotBlock(ctx, snapshot.PutBlockInput{AccountID: w.account, SnapshotID: id,
		BlockIndex: idx, DataLength: &length, Checksum: &sum, ChecksumAlgorithm: &alg,
		Body: bytes.NewReader(data)})
	if err != nil {
		return fmt.Errorf("PutSnapshotBlock %s/%d: %w", id, index, err)
	}
	return nil
}

// isNotFound reports whether err is the service's 404.
func isNotFound(err error) bool {
	var e *ebs.Error
	return errors.As(err, &e) && e.Kind == ebs.KindNotFound
}

// goneWhileDeleted reports whether err is the 404 that AWS gives a request
// on snapshot id once a DeleteSnapshot of it, which a worker has called,
// took effect. Nothing else is forgiven: a 500 because a collection purged
// the snapshot between the request's look-up and its write is a fault of
// the service, which must answer 404 then too.
func (w *workload) goneWhileDeleted(err error, id string) bool {
	return isNotFound(err) && w.ledger.isDeleting(id)
}

// timedOut reports whether err is the refusal of a write to a snapshot
// that the timeout put in the error state (snapshot.notWritable).
func timedOut(err error) bool {
	var e *ebs.Error
	return errors.As(err, &e) && e.Kind == ebs.KindInvalid && e.Reason == ebs.ReasonInvalidSnapshotID
}
