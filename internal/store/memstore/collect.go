package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

var _ store.MetaCollector = (*Meta)(nil)

// MarkView implements store.MetaCollector: a deep copy of every record and
// mapping, taken under the mutex that every write stores under, so all of
// one instant.
func (m *Meta) MarkView(ctx context.Context) (store.MarkView, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed("MarkView")
	}
	v := &markView{
		records: make(map[string]store.Snapshot, len(m.snapshots)),
		blocks:  make(map[string]map[int32]store.BlockRef, len(m.snapshots)),
	}
	for id, e := range m.snapshots {
		v.records[id] = e.snapshot()
		v.blocks[id] = cloneBlocks(e.blocks)
	}
	return v, nil
}

// markView is a store.MarkView over copies that nothing else holds.
type markView struct {
	mu      sync.Mutex // guards the fields; the maps never change once made
	closed  bool
	records map[string]store.Snapshot
	blocks  map[string]map[int32]store.BlockRef
}

// maps returns the view's copies, or ErrClosed after Close.
func (v *markView) maps(op string) (map[string]store.Snapshot, map[string]map[int32]store.BlockRef, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, nil, fmt.Errorf("memstore: MarkView.%s: %w", op, store.ErrClosed)
	}
	return v.records, v.blocks, nil
}

// Snapshots implements store.MarkView, in ID order.
func (v *markView) Snapshots(ctx context.Context, fn func(store.Snapshot) (bool, error)) error {
	records, _, err := v.maps("Snapshots")
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(records))
	for id := range records {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if more, err := fn(cloneSnapshot(records[id])); err != nil || !more {
			return err
		}
	}
	return nil
}

// OwnBlocks implements store.MarkView.
func (v *markView) OwnBlocks(ctx context.Context, id string, start int32, fn func(store.IndexedRef) (bool, error)) error {
	_, blocks, err := v.maps("OwnBlocks")
	if err != nil {
		return err
	}
	var own []store.IndexedRef
	for index, ref := range blocks[id] {
		if index >= start {
			own = append(own, store.IndexedRef{Index: index, Ref: ref})
		}
	}
	slices.SortFunc(own, func(a, b store.IndexedRef) int { return cmp.Compare(a.Index, b.Index) })
	for _, r := range own {
		if err := ctx.Err(); err != nil {
			return err
		}
		if more, err := fn(r); err != nil || !more {
			return err
		}
	}
	return nil
}

// Close implements store.MarkView.
func (v *markView) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return fmt.Errorf("memstore: MarkView.Close: %w", store.ErrClosed)
	}
	v.closed, v.records, v.blocks = true, nil, nil
	return nil
}

// PurgeSnapshot implements store.MetaCollector. It holds the snapshot's
// writeMu, as UpdateSnapshot does, so no PutBlock or UpdateSnapshot of it
// runs meanwhile; those that waited for it find the entry gone from
// m.snapshots and answer ErrNotFound. A tombstone never gains a child or
// a copy (checkSources), so no other snapshot needs locking.
func (m *Meta) PurgeSnapshot(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := m.entry("PurgeSnapshot", id)
	if errors.Is(err, store.ErrNotFound) {
		return nil // purged already
	}
	if err != nil {
		return err
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("PurgeSnapshot")
	}
	if m.snapshots[id] != e {
		return nil // purged while this call waited for writeMu
	}
	switch e.record.State {
	case store.StateDeleted:
		// A tombstone is neither listed nor pending: no count to move.
		delete(m.snapshots, id)
	case store.StateError:
		e.activity = time.Time{}
	default:
		return fmt.Errorf("memstore: PurgeSnapshot: snapshot %q is %s: %w", id, e.record.State, store.ErrNotWritable)
	}
	for _, ref := range e.blocks {
		if counts(ref) {
			m.addUsage(e.record.OwnerID, -1)
		}
	}
	e.blocks = make(map[int32]store.BlockRef)
	return nil
}
