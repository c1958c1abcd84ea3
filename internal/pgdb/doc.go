// Package pgdb is what every PostgreSQL-backed store of ebsd shares: a
// connection pool with settings fit for a server (Open), versioned schema
// migrations per component, serialized across nodes (Migrate), and
// transactions retried when they lost a race or their connection
// (RetryTx). It knows no table of any store: each component (pgmeta's
// snapshots, the S3 block store's index) embeds its own migrations.
//
// Errors that mean "PostgreSQL cannot be reached right now" are wrapped
// with ErrUnavailable, so that the layers above can answer a retryable
// 503 instead of a 500.
//
// SQL here sticks to what PostgreSQL-compatible distributed engines also
// accept, except the advisory lock that serializes migrations, which is
// isolated in lock.go.
package pgdb
