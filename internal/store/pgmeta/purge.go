package pgmeta

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/store"
)

// purgeBatch is how many mappings one transaction of PurgeSnapshot
// deletes: small enough to keep transactions and their locks short.
const purgeBatch = 5000

// PurgeSnapshot implements store.MetaCollector in transactions of at most
// purgeBatch mappings, each of which locks the snapshot's row FOR UPDATE
// (so no PutBlock or UpdateSnapshot of it runs meanwhile), checks its
// state, deletes mappings (and replaced rows) and subtracts the deleted
// non-zero ones from the owner's usage; the last also deletes a
// tombstone's record. A crash
// between transactions leaves a state the next PurgeSnapshot finishes.
// A failed snapshot's LastActivity goes with its mappings.
func (s *Store) PurgeSnapshot(ctx context.Context, id string) error {
	if err := s.enter("PurgeSnapshot"); err != nil {
		return err
	}
	for {
		var done bool
		err := s.tx(ctx, func(tx pgx.Tx) error {
			done = false
			var (
				state int16
				owner string
			)
			err := lockSnapshot(ctx, tx, id, `SELECT state, owner_id FROM snapshots WHERE id = $1 FOR UPDATE`, &state, &owner)
			if errors.Is(err, pgx.ErrNoRows) {
				done = true // purged already
				return nil
			}
			if err != nil {
				return err
			}
			st := store.State(state)
			if st != store.StateDeleted && st != store.StateError {
				return fmt.Errorf("snapshot %q is %s: %w", id, st, store.ErrNotWritable)
			}
			rows, err := tx.Query(ctx, `DELETE FROM writes WHERE snapshot_id = $1 AND block_index IN (
				SELECT block_index FROM writes WHERE snapshot_id = $1 ORDER BY block_index LIMIT $2)
				RETURNING digest`, id, purgeBatch)
			if err != nil {
				return err
			}
			digests, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
			if err != nil {
				return err
			}
			var counted int64
			for _, d := range digests {
				if counts(digestOf(d)) {
					counted++
				}
			}
			if err := addUsage(ctx, tx, owner, -counted); err != nil {
				return err
			}
			// Its replaced rows (own_changes.go), in batches alike.
			tag, err := tx.Exec(ctx, `DELETE FROM replaced WHERE snapshot_id = $1 AND block_index IN (
				SELECT block_index FROM replaced WHERE snapshot_id = $1 ORDER BY block_index LIMIT $2)`, id, purgeBatch)
			if err != nil {
				return err
			}
			if len(digests) == purgeBatch || tag.RowsAffected() == purgeBatch {
				return nil // more to delete, in the next transaction
			}
			done = true
			if st == store.StateDeleted {
				// A tombstone is neither listed nor pending: no count to move.
				_, err := tx.Exec(ctx, `DELETE FROM snapshots WHERE id = $1`, id)
				return err
			}
			return nil
		})
		if err != nil {
			return wrapOp("PurgeSnapshot", err)
		}
		if done {
			return nil
		}
	}
}

// isConnGone reports whether err means the connection is already gone,
// which ends its transaction as surely as a rollback.
func isConnGone(err error) bool { return pgdb.IsUnavailable(err) }
