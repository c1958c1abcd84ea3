package pgmeta

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// PutBlock implements store.MetaStore in one transaction: the snapshot's
// row locked FOR SHARE (concurrent PutBlocks share it; UpdateSnapshot's
// FOR UPDATE waits for them and they for it) and its state checked; the
// mapping inserted, or replaced under its row lock, so that the old
// mapping the usage delta is computed from is the one replaced; the
// owner's usage changed. The commit makes it durable.
func (s *Store) PutBlock(ctx context.Context, id string, index int32, ref store.BlockRef, now time.Time) error {
	if err := s.enter("PutBlock"); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var (
			state int16
			owner string
			root  string
			depth int
		)
		err := shareSnapshot(ctx, tx, id, `SELECT state, owner_id, root_id, depth FROM snapshots WHERE id = $1 FOR SHARE`,
			&state, &owner, &root, &depth)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("snapshot %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if st := store.State(state); st != store.StatePending && st != store.StateCopying {
			return fmt.Errorf("snapshot %q is %s: %w", id, st, store.ErrNotWritable)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO writes (snapshot_id, block_index, root_id, depth, digest, key, written_at, seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, nextval('writes_seq')) ON CONFLICT DO NOTHING`,
			id, index, root, depth, ref.Digest[:], ref.Key[:], toNanos(now))
		if err != nil {
			return err
		}
		delta := usageDelta(ebs.Digest{}, false, ref)
		if tag.RowsAffected() == 0 {
			// Replace: lock the row, so that a concurrent PutBlock of the
			// same index counts from what this one leaves.
			var old []byte
			if err := tx.QueryRow(ctx, `SELECT digest FROM writes WHERE snapshot_id = $1 AND block_index = $2 FOR UPDATE`,
				id, index).Scan(&old); err != nil {
				return err
			}
			delta = usageDelta(digestOf(old), true, ref)
			if _, err := tx.Exec(ctx, `UPDATE writes SET digest = $3, key = $4, written_at = $5, seq = nextval('writes_seq')
				WHERE snapshot_id = $1 AND block_index = $2`,
				id, index, ref.Digest[:], ref.Key[:], toNanos(now)); err != nil {
				return err
			}
		}
		return addUsage(ctx, tx, owner, delta)
	})
	return wrapOp("PutBlock", err)
}

// OwnBlocks implements store.MetaStore, a page at a time: fn runs between
// queries, holding no connection.
func (s *Store) OwnBlocks(ctx context.Context, id string, start int32, fn func(store.IndexedRef) (bool, error)) error {
	if err := s.enter("OwnBlocks"); err != nil {
		return err
	}
	return wrapOp("OwnBlocks", ownBlocks(ctx, s.pool, id, start, fn))
}

func ownBlocks(ctx context.Context, q querier, id string, start int32, fn func(store.IndexedRef) (bool, error)) error {
	for {
		page, err := ownPage(ctx, q, id, start, pageSize)
		if err != nil {
			return err
		}
		for _, r := range page {
			if more, err := fn(r); err != nil || !more {
				return err
			}
		}
		if len(page) < pageSize || page[len(page)-1].Index == maxIndex {
			return nil
		}
		start = page[len(page)-1].Index + 1
	}
}

const maxIndex = int32(^uint32(0) >> 1)

// queryOwn is a page of snapshot $1's own mappings from index $2.
const queryOwn = `SELECT block_index, digest, key FROM writes
	WHERE snapshot_id = $1 AND block_index >= $2 ORDER BY block_index LIMIT $3`

// ownPage returns up to limit of snapshot id's own mappings from start.
func ownPage(ctx context.Context, q querier, id string, start int32, limit int) ([]store.IndexedRef, error) {
	rows, err := q.Query(ctx, queryOwn, id, start, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanIndexedRef)
}

// scanIndexedRef reads a row of (block_index, digest, key).
func scanIndexedRef(row pgx.CollectableRow) (store.IndexedRef, error) {
	var r store.IndexedRef
	var digest, key []byte
	if err := row.Scan(&r.Index, &digest, &key); err != nil {
		return r, err
	}
	var err error
	r.Ref, err = toRef(r.Index, digest, key)
	return r, err
}

// queryWritten is WrittenIndexes: the first $3 indexes from $2 of each of
// the snapshots $1, merged.
const queryWritten = `SELECT DISTINCT w.block_index
	FROM unnest($1::text[]) AS c(id)
	CROSS JOIN LATERAL (SELECT block_index FROM writes
		WHERE snapshot_id = c.id AND block_index >= $2 ORDER BY block_index LIMIT $3) w
	ORDER BY w.block_index LIMIT $3`

// WrittenIndexes implements store.MetaStore. Each snapshot contributes at
// most limit indexes (a LATERAL index scan of its own mappings from
// start), so a page costs at most len(ids) × limit index entries, however
// large the snapshots.
func (s *Store) WrittenIndexes(ctx context.Context, ids []string, start int32, limit int) ([]int32, error) {
	if err := s.enter("WrittenIndexes"); err != nil {
		return nil, err
	}
	if len(ids) == 0 || limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, queryWritten, ids, start, limit)
	if err != nil {
		return nil, wrapOp("WrittenIndexes", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	return out, wrapOp("WrittenIndexes", err)
}
