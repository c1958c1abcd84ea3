package pgmeta

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/store"
)

// Options configure Open.
type Options struct {
	// DSN is the PostgreSQL database, a postgres:// URL; ignored when Pool
	// is set.
	DSN string
	// Pool, when set, is a pool the caller shares with other stores (the
	// S3 BlockStore's index) and closes itself after the store.
	Pool *pgxpool.Pool
	// LeaseCheck is how often the connection that holds this store's
	// leases is checked (lease.go); 0 means 5 seconds.
	LeaseCheck time.Duration
	// SkipReplaced makes UpdateSnapshot record no replaced mappings when
	// a snapshot completes, as before schema version 4 (own_changes.go):
	// for tests of the fallback of ListChangedBlocks.
	SkipReplaced bool
}

// Store is a store.MetaStore and store.MetaCollector on PostgreSQL.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool

	skipReplaced bool // Options.SkipReplaced

	closed   atomic.Bool
	secretMu sync.Mutex     // serializes Secret in this process (secret.go)
	views    sync.WaitGroup // open MarkViews, which Close waits for
	leases   leaseConn      // lease.go
}

var (
	_ store.MetaStore     = (*Store)(nil)
	_ store.MetaCollector = (*Store)(nil)
)

// Open connects to the database and migrates pgmeta's tables to the
// version this binary knows (refusing a newer one).
func Open(ctx context.Context, opts Options) (*Store, error) {
	s := &Store{pool: opts.Pool, skipReplaced: opts.SkipReplaced}
	s.leases.every = opts.LeaseCheck
	if s.leases.every <= 0 {
		s.leases.every = leasePing
	}
	if s.pool == nil {
		pool, err := pgdb.Open(ctx, opts.DSN)
		if err != nil {
			return nil, fmt.Errorf("pgmeta: %w", err)
		}
		s.pool, s.ownsPool = pool, true
	}
	if err := pgdb.Migrate(ctx, s.pool, component, migrations()); err != nil {
		if s.ownsPool {
			s.pool.Close()
		}
		return nil, fmt.Errorf("pgmeta: %w", err)
	}
	return s, nil
}

// Close implements store.MetaStore. It waits for open MarkViews and, when
// the store owns its pool, for the calls in flight.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return errClosed("Close")
	}
	s.views.Wait()
	s.closeLeases()
	if s.ownsPool {
		s.pool.Close()
	}
	return nil
}

// enter returns ErrClosed after Close.
func (s *Store) enter(op string) error {
	if s.closed.Load() {
		return errClosed(op)
	}
	return nil
}

func errClosed(op string) error { return fmt.Errorf("pgmeta: %s: %w", op, store.ErrClosed) }

// wrapOp names the operation in err and translates the driver's errors:
// a pool closed by a concurrent Close is ErrClosed, and an unreachable
// server is pgdb.ErrUnavailable. Errors that already wrap a store
// sentinel pass through with the operation's name.
func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	// pgxpool's error once closed is puddle.ErrClosedPool, which it does
	// not export.
	if strings.Contains(err.Error(), "closed pool") && !errors.Is(err, store.ErrClosed) {
		return fmt.Errorf("pgmeta: %s: %w (%w)", op, store.ErrClosed, err)
	}
	return fmt.Errorf("pgmeta: %s: %w", op, pgdb.Unavailable(err))
}

// querier is what a pool and a transaction share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tx runs fn in a READ COMMITTED transaction, retried by pgdb.RetryTx.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgdb.RetryTx(ctx, s.pool, pgdb.TxOptions{}, fn)
}
