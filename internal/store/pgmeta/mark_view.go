package pgmeta

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/store"
)

// MarkView implements store.MetaCollector: a REPEATABLE READ, read-only
// transaction held open on a connection of its own. Every statement in it
// reads the database as of its first one (snapshot isolation), so records
// and mappings are of one instant, while writers go on. Close ends it;
// the store's Close waits for that.
func (s *Store) MarkView(ctx context.Context) (store.MarkView, error) {
	if err := s.enter("MarkView"); err != nil {
		return nil, err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrapOp("MarkView", err)
	}
	// The snapshot is taken by the first statement, not by BEGIN: take it
	// now, so the view's instant is this call's.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM snapshots LIMIT 1`); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, wrapOp("MarkView", err)
	}
	s.views.Add(1)
	return &markView{tx: tx, done: s.views.Done}, nil
}

// markView is a store.MarkView. A transaction runs one statement at a
// time, so mu serializes the view's queries; callbacks run between pages,
// without mu.
type markView struct {
	mu     sync.Mutex
	tx     pgx.Tx // nil once closed
	done   func()
	closed bool
}

// query runs fn with the view's transaction, or returns ErrClosed.
func (v *markView) query(op string, fn func(pgx.Tx) error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return fmt.Errorf("pgmeta: MarkView.%s: %w", op, store.ErrClosed)
	}
	return wrapOp("MarkView."+op, fn(v.tx))
}

// Snapshots implements store.MarkView, in ID order, a page at a time.
func (v *markView) Snapshots(ctx context.Context, fn func(store.Snapshot) (bool, error)) error {
	after := ""
	for {
		var page []store.Snapshot
		if err := v.query("Snapshots", func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, selectSnapshot+` WHERE s.id > $1 ORDER BY s.id LIMIT $2`, after, pageSize)
			if err != nil {
				return err
			}
			page, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Snapshot, error) { return scanSnapshot(row) })
			return err
		}); err != nil {
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
		after = page[len(page)-1].ID
	}
}

// OwnBlocks implements store.MarkView.
func (v *markView) OwnBlocks(ctx context.Context, id string, start int32, fn func(store.IndexedRef) (bool, error)) error {
	for {
		var page []store.IndexedRef
		if err := v.query("OwnBlocks", func(tx pgx.Tx) error {
			var err error
			page, err = ownPage(ctx, tx, id, start, pageSize)
			return err
		}); err != nil {
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

// Close implements store.MarkView: it ends the transaction (read-only:
// nothing to commit) and gives its connection back.
func (v *markView) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return fmt.Errorf("pgmeta: MarkView.Close: %w", store.ErrClosed)
	}
	v.closed = true
	err := v.tx.Rollback(context.Background())
	v.tx = nil
	v.done()
	if err != nil && !isConnGone(err) {
		return wrapOp("MarkView.Close", err)
	}
	return nil
}
