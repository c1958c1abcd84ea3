package pgmeta

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/store"
)

// queryPut is PutBlock, one statement that the server commits before it
// answers (it follows fenceLock in one pipelined batch, putBlock):
//   - the one-time filter of snap compares the block's epoch ($9) with the
//     fence (fence.go), read by a statement that started after fenceLock
//     was granted: a stale epoch makes snap empty, so nothing is written;
//   - snap takes the snapshot's fair queue lock (fair_lock.go) in its
//     select list, which the scan evaluates for the matching row before
//     the row is locked FOR SHARE (concurrent PutBlocks share it;
//     UpdateSnapshot's FOR UPDATE waits for them and they for it). When an
//     UpdateSnapshot committed while this statement waited, the lock
//     rechecks the row's newest version: state is current;
//   - put inserts the mapping when the state is pending (1) or copying (6),
//     or replaces it under its row lock; replaced_counted records whether
//     the mapping replaced counted (migrations/0002), so that the delta is
//     computed from the mapping actually replaced, even one a concurrent
//     PutBlock committed after this statement began;
//   - usage adds the delta to the owner's shard of this connection
//     (usage.go; $8 is usageShards);
//   - the statement returns the state (NULL when there is no snapshot or
//     the epoch is stale) and the fence.
const queryPut = `WITH f AS (
		SELECT fence FROM gc_fence WHERE id = 1
	), snap AS (
		SELECT owner_id, root_id, depth, state, pg_advisory_xact_lock_shared($2) AS queued
		FROM snapshots WHERE id = $1 AND $9 >= (SELECT fence FROM f) FOR SHARE
	), put AS (
		INSERT INTO writes AS w (snapshot_id, block_index, root_id, depth, digest, key, written_at, seq, replaced_counted)
		SELECT $1, $3, root_id, depth, $4, $5, $6, nextval('writes_seq'), false FROM snap WHERE state IN (1, 6)
		ON CONFLICT (snapshot_id, block_index) DO UPDATE SET digest = EXCLUDED.digest, key = EXCLUDED.key,
			written_at = EXCLUDED.written_at, seq = EXCLUDED.seq, replaced_counted = w.digest <> $7
		RETURNING (w.digest <> $7)::integer - w.replaced_counted::integer AS delta
	), usage AS (
		INSERT INTO usage_counts (owner_id, shard, blocks)
		SELECT snap.owner_id, pg_backend_pid() % $8, put.delta FROM snap, put WHERE put.delta <> 0
		ON CONFLICT (owner_id, shard) DO UPDATE SET blocks = usage_counts.blocks + EXCLUDED.blocks
	)
	SELECT (SELECT state FROM snap), (SELECT fence FROM f)`

// fenceLock is the statement before queryPut: the fence lock, shared
// (fence.go). Being a statement of its own is what makes queryPut's read
// of the fence see every Fence that committed before the lock was granted:
// in READ COMMITTED each statement reads as of its own start.
const fenceLock = `SELECT pg_advisory_xact_lock_shared($1)`

// PutBlock implements store.MetaStore: PutBlockAt with no fence.
func (s *Store) PutBlock(ctx context.Context, id string, index int32, ref store.BlockRef, now time.Time) error {
	return s.putBlock(ctx, id, index, ref, now, unfenced)
}

// putBlock is PutBlock and PutBlockAt in one round trip: fenceLock and
// queryPut in one pipelined batch, one implicit transaction, so the fence
// lock is held until the mapping commits. The snapshot's state is checked
// under its row lock, the mapping inserted or replaced, the owner's usage
// changed by what the replaced mapping counted, and committed, durable,
// when it returns. A deadlock, which the server rolled back, is retried.
func (s *Store) putBlock(ctx context.Context, id string, index int32, ref store.BlockRef, now time.Time, epoch int64) error {
	if err := s.enter("PutBlock"); err != nil {
		return err
	}
	var state *int16
	var fence int64
	err := pgdb.RetryStmt(ctx, 0, func() error {
		b := &pgx.Batch{}
		b.Queue(fenceLock, fenceLockKey)
		b.Queue(queryPut, id, snapshotLockKey(id), index,
			ref.Digest[:], ref.Key[:], toNanos(now), ebs.ZeroBlockDigest[:], usageShards, epoch)
		res := s.pool.SendBatch(ctx, b)
		_, err := res.Exec()
		if err == nil {
			err = res.QueryRow().Scan(&state, &fence)
		}
		if cerr := res.Close(); err == nil {
			err = cerr
		}
		return err
	})
	switch {
	case err != nil:
	case fence > epoch:
		err = fmt.Errorf("snapshot %q block %d: epoch %d, fence %d: %w", id, index, epoch, fence, store.ErrStaleEpoch)
	case state == nil:
		err = fmt.Errorf("snapshot %q: %w", id, store.ErrNotFound)
	case store.State(*state) != store.StatePending && store.State(*state) != store.StateCopying:
		err = fmt.Errorf("snapshot %q is %s: %w", id, store.State(*state), store.ErrNotWritable)
	}
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

// WrittenIndexes implements store.MetaStore with the merge of ViewBlocks
// (merge.go) on indexes only: a page costs its indexes and a few index
// descents per snapshot, however large and many the snapshots.
func (s *Store) WrittenIndexes(ctx context.Context, ids []string, start int32, limit int) ([]int32, error) {
	if err := s.enter("WrittenIndexes"); err != nil {
		return nil, err
	}
	if len(ids) == 0 || limit <= 0 {
		return nil, nil
	}
	page, err := newChainMerge(ids, start, limit, false).run(ctx, s.pool)
	if err != nil {
		return nil, wrapOp("WrittenIndexes", err)
	}
	out := make([]int32, len(page))
	for i, r := range page {
		out[i] = r.Index
	}
	return out, nil
}
