package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// PutBlock implements store.MetaStore. It writes the W, L and A keys, and
// the owner's U key when the usage changes, in one synced batch while
// holding its stripe's read lock, so that UpdateSnapshot cannot change the
// state it checked until it is durable.
func (s *Store) PutBlock(ctx context.Context, id string, index int32, ref store.BlockRef, now time.Time) error {
	if err := s.enterWrite("PutBlock"); err != nil {
		return err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return err
	}

	mu := s.stripes.of(id)
	mu.RLock()
	defer mu.RUnlock()
	ws, ok := s.writeStates.get(id)
	if !ok {
		snap, err := s.getSnapshot(id)
		if err != nil {
			return wrapOp("PutBlock", err)
		}
		ws = writeStateOf(snap)
		s.writeStates.put(id, ws)
	}
	if !writable(ws.state) {
		return fmt.Errorf("pebblemeta: PutBlock: snapshot %q is %s: %w", id, ws.state, store.ErrNotWritable)
	}

	v := encodeRef(ref)
	b := s.db.NewBatch()
	defer b.Close()
	wk := writeKey(id, index)
	_ = b.Set(wk, v, nil)
	_ = b.Set(layoutKey(ws.root, index, ws.depth, id), v, nil)
	_ = b.Set(activityKey(id), encodeTime(now), nil)
	// The owner's usage changes in the same batch, from the old mapping
	// read under the owner's usage lock (usage.go).
	err := s.commitCounted(b, ws.owner, true, func() (int64, error) {
		old, err := s.get(wk)
		if errors.Is(err, store.ErrNotFound) {
			old, err = nil, nil
		}
		if err != nil {
			return 0, err
		}
		return refDelta(old, ref)
	})
	if err != nil {
		return fmt.Errorf("pebblemeta: PutBlock %q %d: %w", id, index, err)
	}
	return nil
}

// activity returns the time of the last PutBlock on snapshot id, or the
// zero time when it has none. Read under the snapshot's stripe lock, it is
// final until the lock is released.
func (s *Store) activity(id string) (time.Time, error) { return activityIn(s.db, id) }

// activityIn is Store.activity reading from r.
func activityIn(r pebble.Reader, id string) (time.Time, error) {
	v, err := get(r, activityKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("activity of snapshot %q: %w", id, err)
	}
	t, err := decodeTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("activity of snapshot %q: %w", id, err)
	}
	return t, nil
}

// OwnBlocks implements store.MetaStore. A snapshot that does not exist has
// no blocks.
func (s *Store) OwnBlocks(ctx context.Context, id string, start int32, fn func(store.IndexedRef) (bool, error)) error {
	if err := s.enter("OwnBlocks"); err != nil {
		return err
	}
	defer s.gate.leave()
	cb := &callback[store.IndexedRef]{fn: fn}
	return cb.result("OwnBlocks", ownBlocks(ctx, s.db, id, start, cb.call))
}

// ownBlocks calls fn on the W entries of snapshot id from start, read
// from r: the database, or a MarkView's Pebble snapshot of it.
func ownBlocks(ctx context.Context, r pebble.Reader, id string, start int32, fn func(store.IndexedRef) (bool, error)) error {
	prefix := writePrefix(id)
	return scan(ctx, r, appendIndex(prefix, start), prefixEnd(prefix), func(key, value []byte) (bool, error) {
		if len(key) != len(prefix)+4 {
			return false, fmt.Errorf("write key %x: %w", key, store.ErrCorrupt)
		}
		ref, err := decodeRef(value)
		if err != nil {
			return false, err
		}
		return fn(store.IndexedRef{Index: decodeIndex(key[len(prefix):]), Ref: ref})
	})
}

// WrittenIndexes implements store.MetaStore: a k-way merge of the W keys
// of each snapshot, read from one consistent Pebble snapshot. Snapshots
// that do not exist contribute nothing.
func (s *Store) WrittenIndexes(ctx context.Context, ids []string, start int32, limit int) ([]int32, error) {
	if err := s.enter("WrittenIndexes"); err != nil {
		return nil, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 || len(ids) == 0 {
		return nil, nil
	}
	out, err := s.writtenIndexes(ctx, ids, start, limit)
	if err != nil {
		return nil, wrapOp("WrittenIndexes", err)
	}
	return out, nil
}

func (s *Store) writtenIndexes(ctx context.Context, ids []string, start int32, limit int) (out []int32, err error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	m, err := openMerge(ctx, snap, ids, start)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := m.close(); err == nil {
			err = cerr
		}
	}()
	for c := m.head(); c != nil && len(out) < limit; c = m.head() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1] != c.index {
			out = append(out, c.index)
		}
		if err := m.advance(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
