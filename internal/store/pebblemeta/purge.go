package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/ebsd/ebsd/internal/store"
)

// purgeBatch bounds the mappings one batch of PurgeSnapshot removes, so
// that its memory and the time it holds the stripe lock do not grow with
// the snapshot.
const purgeBatch = 1024

// PurgeSnapshot implements store.MetaCollector. It removes the snapshot's
// mappings (a W key and its L key together, so the two always agree) in
// batches, each also taking what it removes out of the owner's U key, and its A and R keys in the last one; for a tombstone, that last
// batch also removes the record with its index keys (indexes.go). So a
// crash part-way leaves the record, which the next PurgeSnapshot finds and
// finishes. Only the last batch is synced: it makes the earlier ones
// durable too (the log is written in order), and a lost earlier one only
// leaves mappings the next purge removes.
//
// Each batch is decided and committed under the snapshot's stripe write
// lock, so it is atomic with respect to UpdateSnapshot and PutBlock on it
// (PutBlock refuses a deleted or failed snapshot anyway). No lock on a
// descendant is needed: CreateSnapshot refuses a source that is not
// completed, so a tombstone or a failed snapshot never gains a child or a
// copy, and the ones it had are the collector's to purge first.
func (s *Store) PurgeSnapshot(ctx context.Context, id string) error {
	if err := s.enterWrite("PurgeSnapshot"); err != nil {
		return err
	}
	defer s.gate.leave()
	// Each batch starts after the last index the one before removed, so
	// that it does not step over their deleted keys again: no W key can
	// appear behind it, since PutBlock refuses the states purged.
	for from := int32(math.MinInt32); ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, done, err := s.purgeSome(ctx, id, from)
		if err != nil {
			return fmt.Errorf("pebblemeta: PurgeSnapshot %q: %w", id, err)
		}
		if done {
			return nil
		}
		from = next
	}
}

// purgeSome commits one batch of PurgeSnapshot, of the mappings from
// index from on, and reports where the next starts, or that it was the
// last.
func (s *Store) purgeSome(ctx context.Context, id string, from int32) (next int32, done bool, err error) {
	mu := s.stripes.of(id)
	mu.Lock()
	defer mu.Unlock()
	rec, err := s.getSnapshot(id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, true, nil // purged already
	}
	if err != nil {
		return 0, false, err
	}
	if rec.State != store.StateDeleted && rec.State != store.StateError {
		return 0, false, fmt.Errorf("snapshot is %s: %w", rec.State, store.ErrNotWritable)
	}

	b := s.db.NewBatch()
	defer b.Close()
	root, prefix, n, last := rootOf(rec), writePrefix(id), 0, from
	var counted int64 // the removed mappings that count in the owner's usage
	err = s.scan(ctx, appendIndex(prefix, from), prefixEnd(prefix), func(key, value []byte) (bool, error) {
		if len(key) != len(prefix)+4 {
			return false, fmt.Errorf("write key %x: %w", key, store.ErrCorrupt)
		}
		ref, err := decodeRef(value)
		if err != nil {
			return false, err
		}
		if counts(ref) {
			counted++
		}
		last = decodeIndex(key[len(prefix):])
		_ = b.Delete(key, nil)
		_ = b.Delete(layoutKey(root, last, rec.Depth, id), nil)
		n++
		return n < purgeBatch, nil
	})
	if err != nil {
		return 0, false, err
	}
	// Each batch takes its mappings out of the owner's usage itself
	// (usage.go), so a crash between batches leaves the count exact.
	delta := func() (int64, error) { return -counted, nil }
	if n == purgeBatch && last < math.MaxInt32 {
		// Perhaps more to come: the record stays until the last batch.
		return last + 1, false, s.commitCounted(b, rec.OwnerID, false, delta)
	}

	// The last batch. A failed snapshot purged before has nothing left to
	// remove: the collector purges every failed snapshot at every run, so
	// that costs no synced write.
	if _, err := s.get(activityKey(id)); err == nil {
		_ = b.Delete(activityKey(id), nil)
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, false, err
	}
	// Its R keys (replaced.go) go at once: a range, read by nothing once
	// the snapshot is purgeable. A failed snapshot has none, unless an
	// attempt to complete it wrote some before it failed.
	if found, err := s.anyWithPrefix(ctx, replacedPrefix(id)); err != nil {
		return 0, false, err
	} else if found {
		p := replacedPrefix(id)
		_ = b.DeleteRange(p, prefixEnd(p), nil)
		s.marked.forget(id)
	}
	if rec.State == store.StateDeleted {
		_ = b.Delete(snapshotKey(id), nil)
		for _, k := range indexKeys(rec) {
			_ = b.Delete(k, nil)
		}
	}
	if b.Empty() {
		return 0, true, nil
	}
	err = s.commitCounted(b, rec.OwnerID, true, delta)
	if rec.State == store.StateDeleted {
		// A PutBlock must read the record again: it is gone (or, after a
		// failed commit, perhaps not).
		s.writeStates.forget(id)
	}
	return 0, true, err
}
