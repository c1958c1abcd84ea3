package pgdb

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ebsd/ebsd/internal/store"
)

// ErrUnavailable wraps errors that mean PostgreSQL could not be reached or
// went away (refused or lost connection, server shutting down or starting
// up): the request may succeed if retried later.
// It is store.ErrUnavailable, which the service answers with a retryable
// 503.
var ErrUnavailable = store.ErrUnavailable

// ErrSchemaTooNew means the database was migrated by a newer ebsd than this
// one: its schema has versions this binary does not know.
var ErrSchemaTooNew = errors.New("database schema is newer than this ebsd")

// SQLSTATE codes this package acts on
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
	// UniqueViolation is unique_violation, exported because stores test for
	// it after an INSERT that must not overwrite.
	UniqueViolation = "23505"
)

// Code returns the SQLSTATE of err, "" when err is not from the server.
func Code(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// isConflict reports whether err is a transaction that lost a race to
// another: running it again may succeed.
func isConflict(err error) bool {
	c := Code(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}

// IsUnavailable reports whether err means the server could not be reached
// or the connection was lost (class 08, a server shutting down or starting
// up, a network error), as opposed to an error in the statement itself.
// Context cancellation is not unavailability: it is the caller's.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	if c := Code(err); c != "" {
		return strings.HasPrefix(c, "08") || c == codeAdminShutdown || c == codeCrashShutdown || c == codeCannotConnectNow
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "conn closed") // pgx's "conn closed" / "conn busy" after a lost connection
}

// Unavailable returns err wrapped with ErrUnavailable when IsUnavailable(err),
// else err. Stores call it on every error they return from the database.
func Unavailable(err error) error {
	if IsUnavailable(err) && !errors.Is(err, ErrUnavailable) {
		return &unavailableError{err}
	}
	return err
}

// unavailableError is err, matching ErrUnavailable too.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return "PostgreSQL is unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }
