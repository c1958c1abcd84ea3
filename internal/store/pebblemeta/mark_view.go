package pebblemeta

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

var _ store.MetaCollector = (*Store)(nil)

// MarkView implements store.MetaCollector: a Pebble snapshot of the whole
// database, so that the records and the W keys the collector reads are of
// one instant however long the mark takes.
//
// The view counts as a call in flight until it is closed: Pebble cannot
// close a database with an open snapshot, so Store.Close waits for the
// view's Close, and a reopen for writing (space.go) waits until no view is
// open.
func (s *Store) MarkView(ctx context.Context) (store.MarkView, error) {
	if err := s.enter("MarkView"); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		s.gate.leave()
		return nil, err
	}
	s.views.Add(1)
	v := &markView{snap: s.db.NewSnapshot(), release: func() {
		s.views.Add(-1)
		s.gate.leave()
	}}
	v.gate.init()
	return v, nil
}

// markView is a store.MarkView over a Pebble snapshot. Its own gate lets
// Close wait for the calls in flight on it (a Pebble snapshot must not be
// closed under an iterator), and lets a callback call the view again.
type markView struct {
	gate    gate
	snap    *pebble.Snapshot
	release func() // ends the store's call that the view counts as
}

// enter admits a call, or returns ErrClosed after Close; every successful
// enter must be followed by v.gate.leave().
func (v *markView) enter(op string) error {
	if !v.gate.enter() {
		return fmt.Errorf("pebblemeta: MarkView.%s: %w", op, store.ErrClosed)
	}
	return nil
}

// Snapshots implements store.MarkView, with each record's LastActivity as
// of the view.
func (v *markView) Snapshots(ctx context.Context, fn func(store.Snapshot) (bool, error)) error {
	if err := v.enter("Snapshots"); err != nil {
		return err
	}
	defer v.gate.leave()
	cb := &callback[store.Snapshot]{fn: fn}
	prefix := []byte{spaceSnapshot}
	err := scan(ctx, v.snap, prefix, prefixEnd(prefix), func(key, value []byte) (bool, error) {
		snap, err := decodeSnapshot(value)
		if err != nil {
			return false, fmt.Errorf("snapshot %q: %w", key[1:], err)
		}
		if snap.LastActivity, err = activityIn(v.snap, snap.ID); err != nil {
			return false, err
		}
		return cb.call(snap)
	})
	return cb.result("MarkView.Snapshots", err)
}

// OwnBlocks implements store.MarkView: Store.OwnBlocks's code, reading the
// snapshot.
func (v *markView) OwnBlocks(ctx context.Context, id string, start int32, fn func(store.IndexedRef) (bool, error)) error {
	if err := v.enter("OwnBlocks"); err != nil {
		return err
	}
	defer v.gate.leave()
	cb := &callback[store.IndexedRef]{fn: fn}
	return cb.result("MarkView.OwnBlocks", ownBlocks(ctx, v.snap, id, start, cb.call))
}

// Close implements store.MarkView. It waits for the view's calls in
// flight, so it must not be called from one of their callbacks.
func (v *markView) Close() error {
	if !v.gate.close() {
		return fmt.Errorf("pebblemeta: MarkView.Close: %w", store.ErrClosed)
	}
	err := v.snap.Close()
	v.release()
	if err != nil {
		return fmt.Errorf("pebblemeta: MarkView.Close: %w", err)
	}
	return nil
}
