package pgmeta

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/store"
)

var _ store.Fenced = (*Store)(nil)

// fenceLockKey is the advisory lock that makes Fence wait for the
// PutBlockAt calls in flight ("pgmf" in ASCII, in the high 32 bits).
// Every PutBlockAt holds it shared for its one statement; Fence takes it
// exclusively. PostgreSQL queues a shared request behind a waiting
// exclusive one, so a stream of PutBlocks cannot starve a Fence; they
// wait for it, a few milliseconds. Unlike the snapshot queue lock
// (fair_lock.go), this lock is what the fence's safety rests on: without
// it a PutBlockAt that read the old fence could commit after the mark
// view was taken.
const fenceLockKey = int64(0x70676d66) << 32

// unfenced is the epoch plain PutBlock passes: no fence refuses it.
const unfenced = math.MaxInt64

// PutBlockAt implements store.Fenced: PutBlock (queryPut) that also checks,
// under the fence lock, that epoch is not below the fence.
func (s *Store) PutBlockAt(ctx context.Context, id string, index int32, ref store.BlockRef, now time.Time, epoch uint64) error {
	if epoch > unfenced {
		epoch = unfenced
	}
	return s.putBlock(ctx, id, index, ref, now, int64(epoch))
}

// Fence implements store.Fenced in one transaction: the exclusive fence
// lock, granted once the PutBlockAt statements holding it shared have
// committed, then the raise. PutBlockAt statements that queued behind the
// lock read the new fence: each takes the lock before it reads the fence
// row, in a statement whose snapshot is taken after the lock is granted
// (queryPut reads gc_fence in a subquery evaluated after the lock).
func (s *Store) Fence(ctx context.Context, epoch uint64) error {
	if err := s.enter("Fence"); err != nil {
		return err
	}
	if epoch > unfenced {
		return fmt.Errorf("pgmeta: Fence: epoch %d out of range", epoch)
	}
	err := pgdb.RetryTx(ctx, s.pool, pgdb.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, fenceLockKey); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE gc_fence SET fence = GREATEST(fence, $1) WHERE id = 1`, int64(epoch))
		return err
	})
	return wrapOp("Fence", err)
}
