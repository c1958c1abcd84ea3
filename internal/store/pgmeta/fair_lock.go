package pgmeta

import (
	"context"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
)

// The snapshot row lock is what makes PutBlock and UpdateSnapshot exclude
// each other: PutBlock locks the row FOR SHARE, UpdateSnapshot and
// PurgeSnapshot FOR UPDATE. But PostgreSQL grants FOR SHARE at once to a
// row that is only share-locked, even while a FOR UPDATE waits for it, so
// a steady stream of PutBlocks (an upload with 32 writers) starves an
// UpdateSnapshot that completes or deletes the snapshot. The lock manager
// of advisory locks queues a shared request behind a waiting exclusive
// one, so each of these calls first takes a transaction-level advisory
// lock on the snapshot, in the same mode, as a fair queue in front of the
// row lock (PutBlock inside its one statement, queryPut, in the select
// list of the row it locks). It is the only use of advisory locks in
// pgmeta, and only a queue: correctness rests on the row locks, so an
// engine without advisory locks would drop these calls and keep correct
// results.

// snapshotLockSpace keeps the advisory keys of snapshots apart from other
// applications' ("pgme" in ASCII, in the high 32 bits).
const snapshotLockSpace = int64(0x70676d65) << 32

// snapshotLockKey is snapshot id's advisory lock key. Two IDs may share
// one (a 32-bit hash): they then queue together, which costs time, never
// correctness.
func snapshotLockKey(id string) int64 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return snapshotLockSpace | int64(h.Sum32())
}

// lockSnapshot takes the exclusive queue lock of snapshot id and then runs
// query (which locks its row FOR UPDATE), scanning its row into dest.
func lockSnapshot(ctx context.Context, tx pgx.Tx, id, query string, dest ...any) error {
	return queued(ctx, tx, `SELECT pg_advisory_xact_lock($1)`, id, query, dest)
}

func queued(ctx context.Context, tx pgx.Tx, lock, id, query string, dest []any) error {
	b := &pgx.Batch{}
	b.Queue(lock, snapshotLockKey(id))
	b.Queue(query, id)
	res := tx.SendBatch(ctx, b)
	if _, err := res.Exec(); err != nil {
		_ = res.Close()
		return err
	}
	err := res.QueryRow().Scan(dest...)
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	return err
}
