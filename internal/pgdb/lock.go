package pgdb

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// migrationLockKey is the advisory lock that serializes Migrate across
// nodes: an arbitrary constant, "ebsdmigr" in ASCII, so that it does not
// collide with other applications' locks in a shared database.
const migrationLockKey int64 = 0x656273646d696772

// lockMigrations takes the session advisory lock on conn, waiting for
// other nodes' migrations. It is the only PostgreSQL-specific feature of
// this package; an engine without advisory locks would need a lock row
// instead. The lock goes with the session if the connection dies.
func lockMigrations(ctx context.Context, conn *pgx.Conn) (unlock func(), err error) {
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return nil, err
	}
	return func() {
		// Not ctx: the unlock must run even when ctx was canceled. If it
		// fails the connection is broken, and the server drops the lock
		// with the session.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, migrationLockKey); err != nil {
			conn.Close(uctx)
		}
	}, nil
}
