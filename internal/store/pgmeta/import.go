package pgmeta

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/store"
)

var _ store.Importer = (*Store)(nil)

// ImportSnapshot implements store.Importer in one transaction: the
// inserts of the idempotency record and the snapshot row ON CONFLICT DO
// NOTHING (so that ErrExists comes first), the owner's pending count, the
// mappings by COPY and the owner's usage. Every mapping gets one seq and
// s.LastActivity as written_at, so that the snapshot's LastActivity (the
// written_at of its highest seq) is s.LastActivity, and a later PutBlock's
// seq is above them all. A completed snapshot (or tombstone) whose chain
// is there records its replaced mappings, as UpdateSnapshot does.
func (s *Store) ImportSnapshot(ctx context.Context, snap store.Snapshot, idem *store.Idempotency, blocks []store.IndexedRef) error {
	if err := s.enter("ImportSnapshot"); err != nil {
		return err
	}
	rec, err := encodeSnapshot(snap)
	if err != nil {
		return fmt.Errorf("pgmeta: ImportSnapshot: %w", err)
	}
	root := rootOf(snap)
	written := toNanos(snap.LastActivity)
	var usage int64
	for _, b := range blocks {
		if counts(b.Ref.Digest) {
			usage++
		}
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if idem != nil {
			tag, err := tx.Exec(ctx, `INSERT INTO idempotency (owner_id, client_token, request_hash, snapshot_id, response)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
				idem.OwnerID, idem.ClientToken, idem.RequestHash[:], idem.SnapshotID, nonNil(idem.Response))
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("client token %q of %s: %w", idem.ClientToken, idem.OwnerID, store.ErrExists)
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO snapshots (id, owner_id, state, parent_id, copy_source_id, root_id, depth, record)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			snap.ID, snap.OwnerID, int16(snap.State), snap.ParentID, snap.CopySourceID, root, snap.Depth, rec)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("snapshot %q: %w", snap.ID, store.ErrExists)
		}
		if snap.State.Pending() {
			if _, err := addPending(ctx, tx, snap.OwnerID, 1); err != nil {
				return err
			}
		}
		if len(blocks) == 0 {
			return nil
		}
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT nextval('writes_seq')`).Scan(&seq); err != nil {
			return err
		}
		rows := make([][]any, len(blocks))
		for i, b := range blocks {
			rows[i] = []any{snap.ID, b.Index, root, snap.Depth, b.Ref.Digest[:], b.Ref.Key[:], written, seq}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"writes"},
			[]string{"snapshot_id", "block_index", "root_id", "depth", "digest", "key", "written_at", "seq"},
			pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		if snap.State == store.StateCompleted || snap.State == store.StateDeleted {
			if err := recordReplacedOf(ctx, tx, snap, true); err != nil {
				return err
			}
		}
		return addUsage(ctx, tx, snap.OwnerID, usage)
	})
	return wrapOp("ImportSnapshot", err)
}

// ScanSecrets implements store.Importer, a page at a time.
func (s *Store) ScanSecrets(ctx context.Context, fn func(name string, value []byte) (bool, error)) error {
	if err := s.enter("ScanSecrets"); err != nil {
		return err
	}
	type secret struct {
		name  string
		value []byte
	}
	after := ""
	for first := true; ; first = false {
		rows, err := s.pool.Query(ctx, `SELECT name, value FROM secrets WHERE $1 OR name > $2 ORDER BY name LIMIT $3`,
			first, after, pageSize)
		if err != nil {
			return wrapOp("ScanSecrets", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secret, error) {
			var x secret
			err := r.Scan(&x.name, &x.value)
			return x, err
		})
		if err != nil {
			return wrapOp("ScanSecrets", err)
		}
		for _, x := range page {
			if more, err := fn(x.name, x.value); err != nil || !more {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].name
	}
}
