package snapshot

import (
	"context"
	"errors"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

const opDelete = "DeleteSnapshot"

// errDeleted aborts an update of a snapshot that a concurrent request
// deleted.
var errDeleted = errors.New("snapshot deleted concurrently")

// DeleteSnapshot deletes a snapshot in any state, pending included
// (docs/ec2-api.md §5.2). What other snapshots read never changes: the
// snapshot becomes a tombstone, gone from every API, whose mappings its
// descendants keep reading through until the collector purges it when
// nothing needs it (docs/gc.md §3.2). A PutSnapshotBlock in flight on a
// pending snapshot either lands before the delete or is refused with 404;
// blocks it stored become garbage for the collector.
func (s *Service) DeleteSnapshot(ctx context.Context, in DeleteInput) error {
	if in.SnapshotID == nil || *in.SnapshotID == "" {
		return missing(opDelete, "SnapshotId")
	}
	id := *in.SnapshotID
	if err := checkEC2SnapshotID(opDelete, "snapshotId", id); err != nil {
		return err
	}
	if _, err := s.visible(ctx, opDelete, in.AccountID, id); err != nil {
		return err
	}
	now := s.now()
	var was store.State
	_, err := s.meta.UpdateSnapshot(ctx, id, func(rec *store.Snapshot) error {
		if rec.State == store.StateDeleted || rec.OwnerID != in.AccountID {
			return errDeleted
		}
		was = rec.State
		rec.State = store.StateDeleted
		rec.DeleteTime = now
		return nil
	})
	switch {
	case errors.Is(err, errDeleted), errors.Is(err, store.ErrNotFound):
		// A concurrent DeleteSnapshot won: to this one it did not exist.
		return ebs.SnapshotNotFound(opDelete, id)
	case err != nil:
		return internal(opDelete, err)
	}
	s.log.InfoContext(ctx, "snapshot deleted", "snapshot", id, "account", in.AccountID, "was", was.String())
	return nil
}
