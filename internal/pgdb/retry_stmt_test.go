package pgdb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
)

// TestRetryStmtWhichErrors checks which first errors RetryStmt runs the
// statement again after: those of a statement the server rolled back or
// never got, not those of a statement that may have committed or that is
// wrong.
func TestRetryStmtWhichErrors(t *testing.T) {
	ctx := context.Background()
	// A real connect error: nothing listens on port 1.
	_, connectErr := pgconn.Connect(ctx, "postgres://postgres@127.0.0.1:1/x?connect_timeout=2")
	var ce *pgconn.ConnectError
	if !errors.As(connectErr, &ce) {
		t.Fatalf("connect to port 1 = %T %v, want a *pgconn.ConnectError", connectErr, connectErr)
	}
	mine := errors.New("mine")
	lost := fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF) // after the statement was sent
	for _, tc := range []struct {
		name      string
		first     error
		attempts  int  // how many times fn runs
		ok        bool // RetryStmt returns nil
		unavail   bool // its error wraps ErrUnavailable
		wantFirst bool // its error is first
	}{
		{"deadlock", &pgconn.PgError{Code: "40P01"}, 2, true, false, false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, 2, true, false, false},
		{"connect error", connectErr, 2, true, false, false},
		{"connection lost after sending", lost, 1, false, true, true},
		{"SQL error", &pgconn.PgError{Code: "42P01"}, 1, false, false, true},
		{"own error", mine, 1, false, false, true},
	} {
		attempts := 0
		err := pgdb.RetryStmt(ctx, 0, func() error {
			attempts++
			if attempts == 1 {
				return tc.first
			}
			return nil
		})
		if attempts != tc.attempts || (err == nil) != tc.ok ||
			errors.Is(err, pgdb.ErrUnavailable) != tc.unavail || tc.wantFirst && !errors.Is(err, tc.first) {
			t.Errorf("%s: RetryStmt = %v after %d attempts; want ok %v, ErrUnavailable %v, after %d",
				tc.name, err, attempts, tc.ok, tc.unavail, tc.attempts)
		}
	}
}

// TestRetryStmtSessionEnded runs a statement whose session the server
// ends while it runs: it may have committed for all the client knows, so
// RetryStmt must not run it again, and reports ErrUnavailable.
func TestRetryStmtSessionEnded(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.Start(t))
	attempts := 0
	err := pgdb.RetryStmt(ctx, 0, func() error {
		attempts++
		_, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
		return err
	})
	if attempts != 1 || !errors.Is(err, pgdb.ErrUnavailable) {
		t.Fatalf("RetryStmt = %v after %d attempts, want ErrUnavailable after 1", err, attempts)
	}
}
