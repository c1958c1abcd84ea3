package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// CreateSnapshot implements store.MetaStore. createMu makes the checks and
// the insert one step; the limit counts the owner's O keys, at most
// maxPending of them, so it costs neither a record read nor other owners'
// snapshots.
//
// The parent (and the source of a copy) must be completed at the commit:
// their stripes stay read-locked from the check to the commit, which
// UpdateSnapshot on them waits for. Lock order: stripes (lockSources),
// then createMu. The new snapshot's own stripe is not locked: nothing can
// act on a snapshot before it exists, and it may be its parent's stripe.
func (s *Store) CreateSnapshot(ctx context.Context, snap store.Snapshot, idem *store.Idempotency, maxPending int) error {
	if err := s.enterWrite("CreateSnapshot"); err != nil {
		return err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return err
	}

	b, idemKey, err := s.newSnapshotBatch(snap, idem)
	if err != nil {
		return err
	}
	defer b.Close()

	// The sources are checked before createMu, which serializes every
	// create, but their answer is returned only after the checks for
	// ErrExists, which takes precedence: a retried request finds its
	// records even once its parent is gone.
	sources := sourcesOf(snap)
	unlock := s.lockSources(sources)
	defer unlock()
	sourceErr := s.checkSources(sources)

	s.createMu.Lock()
	defer s.createMu.Unlock()
	if err := s.absent(snapshotKey(snap.ID)); err != nil {
		return fmt.Errorf("pebblemeta: CreateSnapshot: snapshot %q: %w", snap.ID, err)
	}
	if idemKey != nil {
		if err := s.absent(idemKey); err != nil {
			return fmt.Errorf("pebblemeta: CreateSnapshot: client token %q of %s: %w", idem.ClientToken, idem.OwnerID, err)
		}
	}
	if sourceErr != nil {
		return fmt.Errorf("pebblemeta: CreateSnapshot %q: %w", snap.ID, sourceErr)
	}
	if snap.State.Pending() && maxPending > 0 {
		n, err := s.countPending(ctx, snap.OwnerID, maxPending)
		if err != nil {
			return fmt.Errorf("pebblemeta: CreateSnapshot %q: %w", snap.ID, err)
		}
		if n >= maxPending {
			return fmt.Errorf("pebblemeta: CreateSnapshot: %s has %d pending snapshots: %w", snap.OwnerID, n, store.ErrLimit)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("pebblemeta: CreateSnapshot %q: %w", snap.ID, err)
	}
	return nil
}

// absent returns nil when key is not stored and ErrExists when it is.
func (s *Store) absent(key []byte) error {
	_, closer, err := s.db.Get(key)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	_ = closer.Close()
	return store.ErrExists
}

// GetSnapshot implements store.MetaStore.
func (s *Store) GetSnapshot(ctx context.Context, id string) (store.Snapshot, error) {
	if err := s.enter("GetSnapshot"); err != nil {
		return store.Snapshot{}, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return store.Snapshot{}, err
	}
	rec, err := s.getSnapshot(id)
	if err == nil {
		rec.LastActivity, err = s.activity(id)
	}
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("pebblemeta: GetSnapshot: %w", err)
	}
	return rec, nil
}

// UpdateSnapshot implements store.MetaStore. fn runs with the lock of id's
// stripe held, so it must not call PutBlock, UpdateSnapshot,
// CreateSnapshot or PurgeSnapshot; that lock also keeps PutBlock from
// moving the last activity fn is given, CreateSnapshot from adding a child
// to a parent fn deletes, and PurgeSnapshot from removing the record fn
// was given. The record's index keys move with it in the same batch
// (indexes.go): a deleted snapshot leaves its owner's D and O keys.
func (s *Store) UpdateSnapshot(ctx context.Context, id string, fn func(*store.Snapshot) error) (store.Snapshot, error) {
	if err := s.enterWrite("UpdateSnapshot"); err != nil {
		return store.Snapshot{}, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return store.Snapshot{}, err
	}

	mu := s.stripes.of(id)
	mu.Lock()
	defer mu.Unlock()
	snap, err := s.getSnapshot(id)
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("pebblemeta: UpdateSnapshot: %w", err)
	}
	activity, err := s.activity(id)
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("pebblemeta: UpdateSnapshot: %w", err)
	}
	snap.LastActivity = activity
	was := snap
	if err := fn(&snap); err != nil {
		return store.Snapshot{}, err
	}
	if snap.ID != id {
		return store.Snapshot{}, fmt.Errorf("pebblemeta: UpdateSnapshot: fn changed ID %q to %q", id, snap.ID)
	}
	if was.State == store.StateDeleted && snap.State != store.StateDeleted {
		// Deleted is terminal: the collector's roots and purges rely on it
		// (docs/gc.md §5), and the record has left its indexes for good.
		return store.Snapshot{}, fmt.Errorf("pebblemeta: UpdateSnapshot %q: a deleted snapshot cannot become %s: %w",
			id, snap.State, store.ErrNotWritable)
	}
	snap.LastActivity = activity // the A key is the truth; fn cannot move it
	rec, err := encodeSnapshot(snap)
	if err != nil {
		return store.Snapshot{}, err
	}

	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(snapshotKey(id), rec, nil)
	moveIndexes(b, was, snap)
	if snap.State == store.StateCompleted && was.State != store.StateCompleted && !s.opts.SkipReplaced {
		// Its writes are final: record what they replaced (replaced.go).
		if err := s.recordReplaced(ctx, snap, b); err != nil {
			return store.Snapshot{}, fmt.Errorf("pebblemeta: UpdateSnapshot %q: replaced mappings: %w", id, err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		s.writeStates.forget(id) // the record may or may not have changed
		return store.Snapshot{}, fmt.Errorf("pebblemeta: UpdateSnapshot %q: %w", id, err)
	}
	s.writeStates.put(id, writeStateOf(snap))
	return snap, nil
}

// ScanSnapshots implements store.MetaStore. Scanning only states that
// have P keys (stateIndexed) reads their part of that index; any other
// state costs a scan of every record.
func (s *Store) ScanSnapshots(ctx context.Context, fn func(store.Snapshot) (bool, error), states ...store.State) error {
	if err := s.enter("ScanSnapshots"); err != nil {
		return err
	}
	defer s.gate.leave()

	cb := &callback[store.Snapshot]{fn: fn}
	states = slices.Compact(slices.Sorted(slices.Values(states)))
	if len(states) == 0 || slices.ContainsFunc(states, func(st store.State) bool { return !stateIndexed(st) }) {
		prefix := []byte{spaceSnapshot}
		err := s.scan(ctx, prefix, prefixEnd(prefix), func(key, value []byte) (bool, error) {
			snap, err := decodeSnapshot(value)
			if err != nil {
				return false, fmt.Errorf("snapshot %q: %w", key[1:], err)
			}
			if len(states) > 0 && !slices.Contains(states, snap.State) {
				return true, nil
			}
			if snap.LastActivity, err = s.activity(snap.ID); err != nil {
				return false, err
			}
			return cb.call(snap)
		})
		return cb.result("ScanSnapshots", err)
	}

	// One iterator, seeking to each state's part of the index, sees each
	// snapshot once, even if it moves from one of the states to another
	// meanwhile.
	prefixes := make([][]byte, len(states))
	for i, st := range states {
		prefixes[i] = []byte{spaceState, byte(st)}
	}
	err := s.scanPrefixes(ctx, prefixes, func(key, _ []byte) (bool, error) {
		snap, err := s.getSnapshot(string(key[2:]))
		if errors.Is(err, store.ErrNotFound) {
			// Purged since the iterator was made: the record is read
			// outside its view, and a snapshot that no longer exists is
			// in no state.
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if !slices.Contains(states, snap.State) {
			return true, nil // it changed state since the iterator was made
		}
		if snap.LastActivity, err = s.activity(snap.ID); err != nil {
			return false, err
		}
		return cb.call(snap)
	})
	return cb.result("ScanSnapshots", err)
}

// GetIdempotency implements store.MetaStore.
func (s *Store) GetIdempotency(ctx context.Context, ownerID, token string) (store.Idempotency, error) {
	if err := s.enter("GetIdempotency"); err != nil {
		return store.Idempotency{}, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return store.Idempotency{}, err
	}
	v, err := s.get(idempotencyKey(ownerID, token))
	if err != nil {
		return store.Idempotency{}, fmt.Errorf("pebblemeta: GetIdempotency: client token %q of %s: %w", token, ownerID, err)
	}
	r, err := decodeIdempotency(v)
	if err != nil {
		return store.Idempotency{}, fmt.Errorf("pebblemeta: GetIdempotency: client token %q of %s: %w", token, ownerID, err)
	}
	return r, nil
}

// newSnapshotBatch returns a batch that stores snap's record and index
// keys and, when idem is not nil, its idempotency record, whose key it
// returns too: what CreateSnapshot and ImportSnapshot both write.
func (s *Store) newSnapshotBatch(snap store.Snapshot, idem *store.Idempotency) (b *pebble.Batch, idemKey []byte, err error) {
	rec, err := encodeSnapshot(snap)
	if err != nil {
		return nil, nil, err
	}
	var idemVal []byte
	if idem != nil {
		if idemVal, err = encodeIdempotency(*idem); err != nil {
			return nil, nil, err
		}
		idemKey = idempotencyKey(idem.OwnerID, idem.ClientToken)
	}
	b = s.db.NewBatch()
	_ = b.Set(snapshotKey(snap.ID), rec, nil)
	setIndexes(b, snap)
	if idem != nil {
		_ = b.Set(idemKey, idemVal, nil)
	}
	return b, idemKey, nil
}
