package s3blocks

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationComponent names this package's migrations in schema_migrations.
const migrationComponent = "s3blocks"

// scanPage is how many rows one query of Scan reads.
const scanPage = 1000

// PGIndex is the Index on PostgreSQL: tables block_index, groups,
// quarantine and s3blocks_epoch (migrations/). Statements are plain SQL
// that PostgreSQL-compatible engines accept too.
type PGIndex struct {
	pool *pgxpool.Pool
}

var _ Index = (*PGIndex)(nil)

// OpenPGIndex migrates the index's tables in pool's database to this
// version and returns the index. The caller owns pool.
func OpenPGIndex(ctx context.Context, pool *pgxpool.Pool) (*PGIndex, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	if err := pgdb.Migrate(ctx, pool, migrationComponent, sub); err != nil {
		return nil, err
	}
	return &PGIndex{pool: pool}, nil
}

// tx runs fn in a transaction, retried on conflicts (pgdb.RetryTx).
func (x *PGIndex) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgdb.RetryTx(ctx, x.pool, pgdb.TxOptions{}, fn)
}

// Touch is one statement: the UPDATE raises an older touch to the current
// epoch, and a row touched at the epoch already needs no write. Under
// READ COMMITTED an UPDATE that meets a row a sweep is deleting waits for
// it and then finds no row: the Put stores the block again. A row seen
// touched at the statement's epoch E cannot be deleted by a sweep of
// fence F ≤ E, and a sweep of fence F > E armed after this statement began,
// so after its Put started.
func (x *PGIndex) Touch(ctx context.Context, key ebs.Digest) (bool, error) {
	var found bool
	err := x.pool.QueryRow(ctx, `
WITH e AS (SELECT epoch FROM s3blocks_epoch WHERE id = 1),
u AS (UPDATE block_index b SET touched = e.epoch FROM e WHERE b.key = $1 AND b.touched < e.epoch RETURNING 1)
SELECT EXISTS (SELECT 1 FROM u) OR EXISTS (SELECT 1 FROM block_index b, e WHERE b.key = $1 AND b.touched >= e.epoch)`,
		key[:]).Scan(&found)
	if err != nil {
		return false, pgdb.Unavailable(err)
	}
	return found, nil
}

func (x *PGIndex) Lookup(ctx context.Context, key ebs.Digest) (Location, error) {
	var loc Location
	err := x.pool.QueryRow(ctx, `SELECT group_id, off, stored_len, raw_len FROM block_index WHERE key = $1`, key[:]).
		Scan(&loc.Group, &loc.Off, &loc.StoredLen, &loc.RawLen)
	if errors.Is(err, pgx.ErrNoRows) {
		return loc, store.ErrNotFound
	}
	if err != nil {
		return loc, pgdb.Unavailable(err)
	}
	return loc, nil
}

// NewGroup records the size before the upload, so that an orphan's bytes
// are counted (Contents) and reclaimed (Compact's report) like any other.
func (x *PGIndex) NewGroup(ctx context.Context, node string, size int64) (int64, error) {
	var id int64
	err := x.pool.QueryRow(ctx, `INSERT INTO groups (node, state, total_bytes) VALUES ($1, 'writing', $2) RETURNING id`, node, size).Scan(&id)
	if err != nil {
		return 0, pgdb.Unavailable(err)
	}
	return id, nil
}

// sealGroup moves group from writing to sealed, or fails with
// errGroupNotWriting.
func sealGroup(ctx context.Context, tx pgx.Tx, group, size int64) error {
	tag, err := tx.Exec(ctx, `UPDATE groups SET state = 'sealed', total_bytes = $2, live_bytes = $2 WHERE id = $1 AND state = 'writing'`, group, size)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errGroupNotWriting
	}
	return nil
}

// Seal inserts the rows in key order, as every statement that locks
// several rows does, so that concurrent seals and sweeps do not deadlock.
func (x *PGIndex) Seal(ctx context.Context, group, size int64, entries []IndexEntry) error {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b IndexEntry) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	keys := make([][]byte, len(sorted))
	offs := make([]int64, len(sorted))
	stored := make([]int32, len(sorted))
	raw := make([]int32, len(sorted))
	for i, e := range sorted {
		keys[i] = e.Key[:]
		offs[i], stored[i], raw[i] = e.Loc.Off, int32(e.Loc.StoredLen), int32(e.Loc.RawLen)
	}
	return x.tx(ctx, func(tx pgx.Tx) error {
		if err := sealGroup(ctx, tx, group, size); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
INSERT INTO block_index (key, group_id, off, stored_len, raw_len, touched)
SELECT t.key, $1, t.off, t.stored_len, t.raw_len, (SELECT epoch FROM s3blocks_epoch WHERE id = 1)
FROM unnest($2::bytea[], $3::bigint[], $4::integer[], $5::integer[]) WITH ORDINALITY AS t(key, off, stored_len, raw_len, n)
ORDER BY t.n
ON CONFLICT (key) DO UPDATE SET touched = GREATEST(block_index.touched, EXCLUDED.touched)`,
			group, keys, offs, stored, raw)
		return err
	})
}

func (x *PGIndex) Drop(ctx context.Context, key ebs.Digest, loc Location, reason string) error {
	return x.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM block_index WHERE key = $1 AND group_id = $2 AND off = $3`, key[:], loc.Group, loc.Off)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO quarantine (key, group_id, off, reason) VALUES ($1, $2, $3, $4)`, key[:], loc.Group, loc.Off, reason)
		return err
	})
}

func (x *PGIndex) Arm(ctx context.Context) (uint64, error) {
	var epoch int64
	err := x.pool.QueryRow(ctx, `UPDATE s3blocks_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch`).Scan(&epoch)
	if err != nil {
		return 0, pgdb.Unavailable(err)
	}
	return uint64(epoch), nil
}

func (x *PGIndex) Epoch(ctx context.Context) (uint64, error) {
	var epoch int64
	err := x.pool.QueryRow(ctx, `SELECT epoch FROM s3blocks_epoch WHERE id = 1`).Scan(&epoch)
	if err != nil {
		return 0, pgdb.Unavailable(err)
	}
	return uint64(epoch), nil
}

// Scan reads pages of rows in key order, each page a query of its own, so
// that no transaction stays open across the whole index.
func (x *PGIndex) Scan(ctx context.Context, fn func(IndexRow) error) error {
	after := []byte{}
	for {
		rows, err := x.pool.Query(ctx, `SELECT key, group_id, off, stored_len, raw_len, touched FROM block_index WHERE key > $1 ORDER BY key LIMIT $2`, after, scanPage)
		if err != nil {
			return pgdb.Unavailable(err)
		}
		var page []IndexRow
		for rows.Next() {
			var r IndexRow
			var key []byte
			var touched int64
			if err := rows.Scan(&key, &r.Loc.Group, &r.Loc.Off, &r.Loc.StoredLen, &r.Loc.RawLen, &touched); err != nil {
				rows.Close()
				return err
			}
			if copy(r.Key[:], key) != len(r.Key) {
				rows.Close()
				return fmt.Errorf("s3blocks: index key of %d bytes", len(key))
			}
			r.Touched = uint64(touched)
			page = append(page, r)
		}
		if err := rows.Err(); err != nil {
			return pgdb.Unavailable(err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].Key[:]
	}
}

// DeleteUntouched is one conditional DELETE. Under READ COMMITTED a
// DELETE that meets a row a concurrent Touch updated waits for it, then
// evaluates its condition again on the new row version, so the touch wins
// (docs/gc.md §9, I8).
func (x *PGIndex) DeleteUntouched(ctx context.Context, fence uint64, entries []IndexEntry) ([]IndexEntry, error) {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b IndexEntry) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	keys := make([][]byte, len(sorted))
	groups := make([]int64, len(sorted))
	offs := make([]int64, len(sorted))
	for i, e := range sorted {
		keys[i], groups[i], offs[i] = e.Key[:], e.Loc.Group, e.Loc.Off
	}
	var deleted []IndexEntry
	err := x.tx(ctx, func(tx pgx.Tx) error {
		deleted = deleted[:0]
		rows, err := tx.Query(ctx, `
DELETE FROM block_index b USING unnest($1::bytea[], $2::bigint[], $3::bigint[]) AS c(key, group_id, off)
WHERE b.key = c.key AND b.group_id = c.group_id AND b.off = c.off AND b.touched < $4
RETURNING b.key, b.group_id, b.off, b.stored_len, b.raw_len`, keys, groups, offs, int64(fence))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e IndexEntry
			var key []byte
			if err := rows.Scan(&key, &e.Loc.Group, &e.Loc.Off, &e.Loc.StoredLen, &e.Loc.RawLen); err != nil {
				return err
			}
			copy(e.Key[:], key)
			deleted = append(deleted, e)
		}
		return rows.Err()
	})
	return deleted, err
}

func (x *PGIndex) SetLiveBytes(ctx context.Context, live map[int64]int64) error {
	ids := make([]int64, 0, len(live))
	for id := range live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	bytes := make([]int64, len(ids))
	for i, id := range ids {
		bytes[i] = live[id]
	}
	_, err := x.pool.Exec(ctx, `
UPDATE groups g SET live_bytes = c.live FROM unnest($1::bigint[], $2::bigint[]) AS c(id, live)
WHERE g.id = c.id AND g.state = 'sealed'`, ids, bytes)
	return pgdb.Unavailable(err)
}

func (x *PGIndex) Groups(ctx context.Context) ([]Group, error) {
	rows, err := x.pool.Query(ctx, `
SELECT id, node, state, total_bytes, live_bytes,
	EXTRACT(EPOCH FROM now() - created_at)::float8,
	COALESCE(EXTRACT(EPOCH FROM now() - retired_at)::float8, 0)
FROM groups ORDER BY id`)
	if err != nil {
		return nil, pgdb.Unavailable(err)
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		var g Group
		var state string
		var age, retired float64
		if err := rows.Scan(&g.ID, &g.Node, &state, &g.Size, &g.LiveBytes, &age, &retired); err != nil {
			return nil, err
		}
		g.State = GroupState(state)
		g.Age = time.Duration(age * float64(time.Second))
		g.Retired = time.Duration(retired * float64(time.Second))
		out = append(out, g)
	}
	return out, pgdb.Unavailable(rows.Err())
}

func (x *PGIndex) GroupEntries(ctx context.Context, group int64) ([]IndexEntry, error) {
	rows, err := x.pool.Query(ctx, `SELECT key, off, stored_len, raw_len FROM block_index WHERE group_id = $1 ORDER BY off`, group)
	if err != nil {
		return nil, pgdb.Unavailable(err)
	}
	defer rows.Close()
	var out []IndexEntry
	for rows.Next() {
		e := IndexEntry{Loc: Location{Group: group}}
		var key []byte
		if err := rows.Scan(&key, &e.Loc.Off, &e.Loc.StoredLen, &e.Loc.RawLen); err != nil {
			return nil, err
		}
		copy(e.Key[:], key)
		out = append(out, e)
	}
	return out, pgdb.Unavailable(rows.Err())
}

// Repoint is compaction's commit (docs/gc.md §9, C5): every move by
// compare-and-set, the new group sealed, the old ones retired, in one
// transaction; it refuses to retire a source that a row still names (I9).
func (x *PGIndex) Repoint(ctx context.Context, to, size int64, moves []Move, from []int64) (int, error) {
	sorted := slices.Clone(moves)
	slices.SortFunc(sorted, func(a, b Move) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	keys := make([][]byte, len(sorted))
	fromGroup := make([]int64, len(sorted))
	fromOff := make([]int64, len(sorted))
	toOff := make([]int64, len(sorted))
	for i, m := range sorted {
		keys[i], fromGroup[i], fromOff[i], toOff[i] = m.Key[:], m.From.Group, m.From.Off, m.To.Off
	}
	var moved int
	err := x.tx(ctx, func(tx pgx.Tx) error {
		if err := sealGroup(ctx, tx, to, size); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
UPDATE block_index b SET group_id = $1, off = c.to_off
FROM unnest($2::bytea[], $3::bigint[], $4::bigint[], $5::bigint[]) AS c(key, from_group, from_off, to_off)
WHERE b.key = c.key AND b.group_id = c.from_group AND b.off = c.from_off`, to, keys, fromGroup, fromOff, toOff)
		if err != nil {
			return err
		}
		moved = int(tag.RowsAffected())
		var left int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM block_index WHERE group_id = ANY($1)`, from).Scan(&left); err != nil {
			return err
		}
		if left > 0 {
			return fmt.Errorf("s3blocks: repoint: %d rows still name the groups being retired", left)
		}
		_, err = tx.Exec(ctx, `UPDATE groups SET state = 'retiring', retired_at = now() WHERE id = ANY($1) AND state = 'sealed'`, from)
		return err
	})
	return moved, err
}

func (x *PGIndex) Retire(ctx context.Context, group int64, from GroupState) (bool, error) {
	tag, err := x.pool.Exec(ctx, `
UPDATE groups SET state = 'retiring', retired_at = now()
WHERE id = $1 AND state = $2 AND NOT EXISTS (SELECT 1 FROM block_index WHERE group_id = $1)`, group, string(from))
	if err != nil {
		return false, pgdb.Unavailable(err)
	}
	return tag.RowsAffected() == 1, nil
}

func (x *PGIndex) Forget(ctx context.Context, group int64) error {
	_, err := x.pool.Exec(ctx, `DELETE FROM groups WHERE id = $1 AND state = 'retiring'`, group)
	return pgdb.Unavailable(err)
}
