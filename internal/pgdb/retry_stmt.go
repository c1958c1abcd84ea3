package pgdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// RetryStmt runs fn, which runs one statement (or one pipelined batch) in
// its own implicit transaction: the server commits it before it answers,
// so a write needs one round trip instead of RetryTx's three or more
// (BEGIN, the statement, COMMIT). RetryStmt runs fn again, after the same
// jittered backoff as RetryTx, up to attempts times (0 means
// DefaultAttempts), when the statement lost a race (serialization failure
// 40001, deadlock 40P01: the server rolled it back) or failed before
// anything was sent (no connection could be made, or pgconn reports it safe
// to retry). A connection lost after the statement was sent is not retried:
// like RetryTx's COMMIT, the statement may have committed. Other errors,
// fn's own included, end RetryStmt at once. Errors that mean the server is
// unreachable are wrapped with ErrUnavailable.
func RetryStmt(ctx context.Context, attempts int, fn func() error) error {
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
		if err = fn(); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if !isConflict(err) && !notSent(err) {
			return Unavailable(err)
		}
	}
	return Unavailable(err)
}

// notSent reports whether err happened before the statement reached the
// server: a failed connect, or an error pgconn knows came first.
func notSent(err error) bool {
	var connectErr *pgconn.ConnectError
	return errors.As(err, &connectErr) || pgconn.SafeToRetry(err)
}
