package snapshot

import (
	"context"
	"errors"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// visible returns snapshot id if it exists and belongs to account. A
// snapshot of another account is reported exactly like a missing one, so
// callers learn nothing about other accounts, and so is a deleted one,
// whose tombstone only its descendants read through (docs/gc.md §3.2).
func (s *Service) visible(ctx context.Context, op, account, id string) (store.Snapshot, error) {
	snap, err := s.meta.GetSnapshot(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (snap.OwnerID != account || snap.State == store.StateDeleted)) {
		return store.Snapshot{}, ebs.SnapshotNotFound(op, id)
	}
	if err != nil {
		return store.Snapshot{}, internal(op, err)
	}
	return snap, nil
}

// readable returns snapshot id if the caller may read it: the read APIs
// see only completed snapshots (spec §7.2).
func (s *Service) readable(ctx context.Context, op, account, id string) (store.Snapshot, error) {
	snap, err := s.visible(ctx, op, account, id)
	if err != nil {
		return snap, err
	}
	if snap.State != store.StateCompleted {
		return store.Snapshot{}, ebs.SnapshotNotFound(op, id)
	}
	return snap, nil
}
