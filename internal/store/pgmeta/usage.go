package pgmeta

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/ebs"
)

// usageShards is how many rows an owner's usage is spread over. A
// transaction adds to the shard of its connection's backend PID (PutBlock
// in SQL, pg_backend_pid(); addUsage from the connection), so concurrent
// PutBlocks of one owner, on different connections, rarely wait for one
// another's commit on a counter row.
const usageShards = 16

// counts reports whether a mapping to digest counts in its owner's usage.
func counts(digest ebs.Digest) bool { return digest != ebs.ZeroBlockDigest }

// addUsage adds delta to owner's usage in tx: in the transaction that
// changes the mappings, so the counter is exact.
func addUsage(ctx context.Context, tx pgx.Tx, owner string, delta int64) error {
	if delta == 0 {
		return nil
	}
	shard := int16(tx.Conn().PgConn().PID() % usageShards)
	_, err := tx.Exec(ctx, `INSERT INTO usage_counts (owner_id, shard, blocks) VALUES ($1, $2, $3)
		ON CONFLICT (owner_id, shard) DO UPDATE SET blocks = usage_counts.blocks + EXCLUDED.blocks`,
		owner, shard, delta)
	return err
}

// Usage implements store.MetaStore: the sum of the owner's shards.
func (s *Store) Usage(ctx context.Context, ownerID string) (int64, error) {
	if err := s.enter("Usage"); err != nil {
		return 0, err
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(SUM(blocks), 0)::bigint FROM usage_counts WHERE owner_id = $1`, ownerID).Scan(&n)
	return n, wrapOp("Usage", err)
}

// ScanUsage implements store.MetaStore, in owner order, a page at a time.
func (s *Store) ScanUsage(ctx context.Context, fn func(ownerID string, blocks int64) (bool, error)) error {
	if err := s.enter("ScanUsage"); err != nil {
		return err
	}
	type row struct {
		owner  string
		blocks int64
	}
	after := ""
	for {
		rows, err := s.pool.Query(ctx, `SELECT owner_id, SUM(blocks)::bigint FROM usage_counts WHERE owner_id > $1
			GROUP BY owner_id HAVING SUM(blocks) <> 0 ORDER BY owner_id LIMIT $2`, after, pageSize)
		if err != nil {
			return wrapOp("ScanUsage", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.owner, &x.blocks)
			return x, err
		})
		if err != nil {
			return wrapOp("ScanUsage", err)
		}
		for _, x := range page {
			if more, err := fn(x.owner, x.blocks); err != nil || !more {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].owner
	}
}

// digestOf returns a digest column as a Digest; a malformed one (never
// written by pgmeta) is the zero Digest, which counts, rather than a
// panic.
func digestOf(b []byte) ebs.Digest {
	var d ebs.Digest
	copy(d[:], b)
	return d
}
