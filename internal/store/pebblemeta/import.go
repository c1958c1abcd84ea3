package pebblemeta

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

var _ store.Importer = (*Store)(nil)

// ImportSnapshot implements store.Importer: the record, its index keys,
// idem, the W and L keys of blocks, the A key and the owner's U key in one
// synced batch. createMu makes the checks for ErrExists and the commit one
// step, as in CreateSnapshot; the usage lock orders the U key's change
// with concurrent PutBlocks of the owner (usage.go). The batch holds the
// whole snapshot: about 100 bytes per mapping.
func (s *Store) ImportSnapshot(ctx context.Context, snap store.Snapshot, idem *store.Idempotency, blocks []store.IndexedRef) error {
	if err := s.enterWrite("ImportSnapshot"); err != nil {
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
	root := rootOf(snap)
	var usage int64
	for _, r := range blocks {
		v := encodeRef(r.Ref)
		_ = b.Set(writeKey(snap.ID, r.Index), v, nil)
		_ = b.Set(layoutKey(root, r.Index, snap.Depth, snap.ID), v, nil)
		if counts(r.Ref) {
			usage++
		}
	}
	if !snap.LastActivity.IsZero() {
		_ = b.Set(activityKey(snap.ID), encodeTime(snap.LastActivity), nil)
	}

	s.createMu.Lock()
	defer s.createMu.Unlock()
	if err := s.absent(snapshotKey(snap.ID)); err != nil {
		return fmt.Errorf("pebblemeta: ImportSnapshot: snapshot %q: %w", snap.ID, err)
	}
	if idemKey != nil {
		if err := s.absent(idemKey); err != nil {
			return fmt.Errorf("pebblemeta: ImportSnapshot: client token %q of %s: %w", idem.ClientToken, idem.OwnerID, err)
		}
	}
	if err := s.commitCounted(b, snap.OwnerID, true, func() (int64, error) { return usage, nil }); err != nil {
		return fmt.Errorf("pebblemeta: ImportSnapshot %q: %w", snap.ID, err)
	}
	s.importReplaced(ctx, snap)
	return nil
}

// importReplaced records what the writes of snap, just imported, replaced
// (replaced.go), as its completion would have, once its parent's chain is
// in the store (the caller imports parents first): a follow-up, so that
// the import's batch holds no more than the snapshot. Only a completed
// snapshot (or a tombstone, which may have completed) can be read below a
// common ancestor. A failure or a crash leaves no marker, which reads as
// a snapshot completed before the R keys: correctly, the slower way, so
// it is logged, not returned (the snapshot is imported).
func (s *Store) importReplaced(ctx context.Context, snap store.Snapshot) {
	if s.opts.SkipReplaced || snap.ParentID == "" || (snap.State != store.StateCompleted && snap.State != store.StateDeleted) {
		return
	}
	mu := s.stripes.of(snap.ID)
	mu.Lock()
	defer mu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	err := s.recordReplaced(ctx, snap, b)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "imported snapshot without replaced mappings: ListChangedBlocks resolves its blocks the slower way",
			"snapshot", snap.ID, "err", err)
	}
}

// ScanSecrets implements store.Importer: the K keys, in name order.
func (s *Store) ScanSecrets(ctx context.Context, fn func(name string, value []byte) (bool, error)) error {
	if err := s.enter("ScanSecrets"); err != nil {
		return err
	}
	defer s.gate.leave()
	type secret struct {
		name  string
		value []byte
	}
	cb := &callback[secret]{fn: func(sec secret) (bool, error) { return fn(sec.name, sec.value) }}
	prefix := []byte{spaceSecret}
	err := s.scan(ctx, prefix, prefixEnd(prefix), func(key, value []byte) (bool, error) {
		return cb.call(secret{string(key[1:]), append([]byte(nil), value...)})
	})
	return cb.result("ScanSecrets", err)
}
