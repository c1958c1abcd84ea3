package pgmeta

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/store"
)

// selectActivity is the LastActivity of snapshot $1: the time of its
// latest write (one descent of writes_activity), NULL when it has none.
const selectActivity = `SELECT written_at FROM writes WHERE snapshot_id = $1 ORDER BY seq DESC LIMIT 1`

// selectSnapshot is the columns a record is read from: the record and
// its LastActivity.
const selectSnapshot = `SELECT s.record,
	(SELECT w.written_at FROM writes w WHERE w.snapshot_id = s.id ORDER BY w.seq DESC LIMIT 1)
	FROM snapshots s`

// pageSize is how many rows a paged read fetches per query. Callbacks run
// between queries, holding no connection, so that they may call the store.
const pageSize = 1000

// scanSnapshot reads one row of selectSnapshot.
func scanSnapshot(row pgx.Row) (store.Snapshot, error) {
	var rec []byte
	var activity *int64
	if err := row.Scan(&rec, &activity); err != nil {
		return store.Snapshot{}, err
	}
	return decodeSnapshot(rec, activity)
}

// CreateSnapshot implements store.MetaStore in one transaction: the
// inserts first (ON CONFLICT DO NOTHING, so that ErrExists comes before
// every other answer), then the parent and copy source locked FOR SHARE
// and checked, which an UpdateSnapshot deleting them (FOR UPDATE) waits
// for, then the owner's pending count incremented under its row lock and
// compared with maxPending.
func (s *Store) CreateSnapshot(ctx context.Context, snap store.Snapshot, idem *store.Idempotency, maxPending int) error {
	if err := s.enter("CreateSnapshot"); err != nil {
		return err
	}
	rec, err := encodeSnapshot(snap)
	if err != nil {
		return fmt.Errorf("pgmeta: CreateSnapshot: %w", err)
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
			snap.ID, snap.OwnerID, int16(snap.State), snap.ParentID, snap.CopySourceID, rootOf(snap), snap.Depth, rec)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("snapshot %q: %w", snap.ID, store.ErrExists)
		}
		for _, src := range []string{snap.ParentID, snap.CopySourceID} {
			if src == "" {
				continue
			}
			var state int16
			err := tx.QueryRow(ctx, `SELECT state FROM snapshots WHERE id = $1 FOR SHARE`, src).Scan(&state)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("snapshot %q: %w", src, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
			if st := store.State(state); st != store.StateCompleted {
				return fmt.Errorf("snapshot %q is %s: %w", src, st, store.ErrNotFound)
			}
		}
		if !snap.State.Pending() {
			return nil
		}
		n, err := addPending(ctx, tx, snap.OwnerID, 1)
		if err != nil {
			return err
		}
		if maxPending > 0 && n > int64(maxPending) {
			return fmt.Errorf("%s has %d pending snapshots: %w", snap.OwnerID, n-1, store.ErrLimit)
		}
		return nil
	})
	return wrapOp("CreateSnapshot", err)
}

// addPending adds delta to owner's pending count, under its row lock until
// the transaction ends, and returns the new count.
func addPending(ctx context.Context, tx pgx.Tx, owner string, delta int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `INSERT INTO pending_counts (owner_id, pending) VALUES ($1, $2)
		ON CONFLICT (owner_id) DO UPDATE SET pending = pending_counts.pending + EXCLUDED.pending
		RETURNING pending`, owner, delta).Scan(&n)
	return n, err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// GetSnapshot implements store.MetaStore.
func (s *Store) GetSnapshot(ctx context.Context, id string) (store.Snapshot, error) {
	if err := s.enter("GetSnapshot"); err != nil {
		return store.Snapshot{}, err
	}
	snap, err := getSnapshot(ctx, s.pool, id)
	return snap, wrapOp("GetSnapshot", err)
}

func getSnapshot(ctx context.Context, q querier, id string) (store.Snapshot, error) {
	snap, err := scanSnapshot(q.QueryRow(ctx, selectSnapshot+` WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Snapshot{}, fmt.Errorf("snapshot %q: %w", id, store.ErrNotFound)
	}
	return snap, err
}

// UpdateSnapshot implements store.MetaStore. It locks the snapshot's row
// FOR UPDATE, which waits for the PutBlocks in flight (they hold it FOR
// SHARE) and keeps new ones out until the commit; then it reads the
// activity in a new statement, which sees every PutBlock committed while
// it waited (READ COMMITTED takes a snapshot per statement). The owner's
// pending count changes in the same transaction, and so, when the
// snapshot becomes completed, do its replaced mappings (own_changes.go).
func (s *Store) UpdateSnapshot(ctx context.Context, id string, fn func(*store.Snapshot) error) (store.Snapshot, error) {
	if err := s.enter("UpdateSnapshot"); err != nil {
		return store.Snapshot{}, err
	}
	var out store.Snapshot
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var rec []byte
		err := lockSnapshot(ctx, tx, id, `SELECT record FROM snapshots WHERE id = $1 FOR UPDATE`, &rec)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("snapshot %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var activity *int64
		if err := tx.QueryRow(ctx, selectActivity, id).Scan(&activity); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		was, err := decodeSnapshot(rec, activity)
		if err != nil {
			return err
		}
		snap, err := decodeSnapshot(rec, activity) // fn's own copy: it may keep or change its slices
		if err != nil {
			return err
		}
		if err := fn(&snap); err != nil {
			return errFn{err}
		}
		if snap.ID != id {
			return fmt.Errorf("fn changed ID %q to %q", id, snap.ID)
		}
		if was.State == store.StateDeleted && snap.State != store.StateDeleted {
			// Deleted is terminal: the collector's roots and purges rely on it.
			return fmt.Errorf("snapshot %q: a deleted snapshot cannot become %s: %w", id, snap.State, store.ErrNotWritable)
		}
		if rec, err = encodeSnapshot(snap); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE snapshots SET owner_id = $2, state = $3, parent_id = $4, copy_source_id = $5,
			root_id = $6, depth = $7, record = $8 WHERE id = $1`,
			id, snap.OwnerID, int16(snap.State), snap.ParentID, snap.CopySourceID, rootOf(snap), snap.Depth, rec); err != nil {
			return err
		}
		if err := movePending(ctx, tx, was, snap); err != nil {
			return err
		}
		if was.State != store.StateCompleted && snap.State == store.StateCompleted && !s.skipReplaced {
			// Its rows are final now (no PutBlock passes the row lock
			// held), and recorded with the state, atomically.
			if err := recordReplacedOf(ctx, tx, snap, false); err != nil {
				return err
			}
		}
		snap.LastActivity = was.LastActivity
		out = snap
		return nil
	})
	var fnErr errFn
	if errors.As(err, &fnErr) {
		return store.Snapshot{}, fnErr.err // fn's error, unwrapped, as the contract says
	}
	if err != nil {
		return store.Snapshot{}, wrapOp("UpdateSnapshot", err)
	}
	return out, nil
}

// errFn carries fn's error out of the transaction untouched.
type errFn struct{ err error }

func (e errFn) Error() string { return e.err.Error() }
func (e errFn) Unwrap() error { return e.err }

// movePending moves a snapshot's contribution to its owner's pending
// count from what its record was to what it is.
func movePending(ctx context.Context, tx pgx.Tx, was, is store.Snapshot) error {
	if was.State.Pending() && (!is.State.Pending() || was.OwnerID != is.OwnerID) {
		if _, err := addPending(ctx, tx, was.OwnerID, -1); err != nil {
			return err
		}
	}
	if is.State.Pending() && (!was.State.Pending() || was.OwnerID != is.OwnerID) {
		if _, err := addPending(ctx, tx, is.OwnerID, 1); err != nil {
			return err
		}
	}
	return nil
}

// ScanSnapshots implements store.MetaStore, in ID order, a page at a time
// (so not one instant; the collector's MarkView is). The states with a
// partial index (pending, completing, copying, deleted) cost what they
// return; the others a scan of the table.
func (s *Store) ScanSnapshots(ctx context.Context, fn func(store.Snapshot) (bool, error), states ...store.State) error {
	if err := s.enter("ScanSnapshots"); err != nil {
		return err
	}
	where := ``
	args := []any{""}
	if len(states) > 0 {
		in := make([]int16, len(states))
		for i, st := range states {
			in[i] = int16(st)
		}
		where = ` AND s.state = ANY($2)`
		args = append(args, in)
	}
	err := scanPages(ctx, s.pool, selectSnapshot+` WHERE s.id > $1`+where+` ORDER BY s.id LIMIT `+fmt.Sprint(pageSize), args, fn)
	return wrapOp("ScanSnapshots", err)
}

// scanPages runs query (whose $1 is the last ID of the previous page)
// page by page, calling fn on each record between queries.
func scanPages(ctx context.Context, q querier, query string, args []any, fn func(store.Snapshot) (bool, error)) error {
	for {
		rows, err := q.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Snapshot, error) { return scanSnapshot(row) })
		if err != nil {
			return err
		}
		for _, snap := range page {
			if more, err := fn(snap); err != nil || !more {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		args[0] = page[len(page)-1].ID
	}
}

// ListSnapshots implements store.MetaStore through snapshots_by_owner, an
// index of the owner's snapshots that are not deleted.
func (s *Store) ListSnapshots(ctx context.Context, ownerID, after string, limit int) ([]store.Snapshot, error) {
	if err := s.enter("ListSnapshots"); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, selectSnapshot+` WHERE s.owner_id = $1 AND s.state <> $2 AND s.id > $3 ORDER BY s.id LIMIT $4`,
		ownerID, int16(store.StateDeleted), after, limit)
	if err != nil {
		return nil, wrapOp("ListSnapshots", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Snapshot, error) { return scanSnapshot(row) })
	return out, wrapOp("ListSnapshots", err)
}

// GetIdempotency implements store.MetaStore.
func (s *Store) GetIdempotency(ctx context.Context, ownerID, token string) (store.Idempotency, error) {
	if err := s.enter("GetIdempotency"); err != nil {
		return store.Idempotency{}, err
	}
	r := store.Idempotency{OwnerID: ownerID, ClientToken: token}
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT request_hash, snapshot_id, response FROM idempotency
		WHERE owner_id = $1 AND client_token = $2`, ownerID, token).Scan(&hash, &r.SnapshotID, &r.Response)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Idempotency{}, fmt.Errorf("pgmeta: GetIdempotency: client token %q of %s: %w", token, ownerID, store.ErrNotFound)
	}
	if err != nil {
		return store.Idempotency{}, wrapOp("GetIdempotency", err)
	}
	copy(r.RequestHash[:], hash)
	return r, nil
}
