package pgdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// TxStarter begins transactions: a *pgxpool.Pool (which RetryTx needs for
// a retry after a lost connection to get a new one), or a *pgx.Conn.
type TxStarter interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// TxOptions are the options of a RetryTx transaction. The zero value is a
// READ COMMITTED read-write transaction tried DefaultAttempts times.
type TxOptions struct {
	pgx.TxOptions // isolation level and access mode

	// Attempts bounds how many times the transaction runs; 0 means
	// DefaultAttempts.
	Attempts int
}

// DefaultAttempts is how many times RetryTx runs a transaction by default:
// with its backoff, 1.7 s of retrying on average (2.3 s at most), about
// what a PostgreSQL restart (fast shutdown, start) takes on a small
// database. Callers that must ride out longer outages retry above.
const DefaultAttempts = 10

// Backoff between attempts: a random wait in the upper half of a window
// that doubles at each attempt, so that transactions that collided do not
// collide again.
const (
	backoffBase = 5 * time.Millisecond
	backoffMax  = time.Second
)

// RetryTx runs fn in a transaction and commits it, and runs it again, in a
// new transaction after a jittered backoff, when the transaction failed
// because it lost a race (serialization failure 40001, deadlock 40P01) or
// the connection was lost or refused before the commit was sent. fn may
// therefore run more than once: it must compute everything it writes from
// what it reads in tx, and keep nothing it computed in an attempt that
// failed (reset any result variable at its start). Its own errors end
// RetryTx at once, unless they are one of the above.
//
// A connection lost during the commit is not retried: the commit may have
// happened, and running fn again could apply it twice. RetryTx returns that
// error wrapped with ErrUnavailable, like every error that means the server
// is unreachable once the attempts are spent.
func RetryTx(ctx context.Context, db TxStarter, opts TxOptions, fn func(tx pgx.Tx) error) error {
	attempts := opts.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	var err error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if werr := sleep(ctx, backoff(attempt)); werr != nil {
				return fmt.Errorf("%w (after: %w)", werr, Unavailable(err))
			}
		}
		var committing bool
		committing, err = runTx(ctx, db, opts.TxOptions, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		switch {
		case isConflict(err): // also a serialization failure reported by COMMIT
		case IsUnavailable(err) && !committing:
		default:
			return Unavailable(err)
		}
	}
	return Unavailable(err)
}

// runTx is one attempt. committing reports that the error came from the
// COMMIT, whose outcome a lost connection leaves unknown.
func runTx(ctx context.Context, db TxStarter, opts pgx.TxOptions, fn func(pgx.Tx) error) (committing bool, err error) {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil && !committing {
			// Rollback's error adds nothing: a broken connection is
			// already in err, and the server rolls back what it lost.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(tx); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return true, err
	}
	return false, nil
}

// backoff returns the wait before attempt (≥ 1).
func backoff(attempt int) time.Duration {
	window := backoffBase << min(attempt-1, 16)
	if window > backoffMax {
		window = backoffMax
	}
	return window/2 + rand.N(window/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
