package pgdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool settings, unless the DSN sets them (pool_max_conns=…, connect_timeout=…).
const (
	// minMaxConns is the least pool size: PutBlock holds a connection for
	// one commit, and concurrent uploads should not queue behind a pool of
	// pgxpool's default max(4, NumCPU).
	minMaxConns = 16
	// connectTimeout bounds one dial, so that an unreachable server fails
	// a request instead of hanging it.
	connectTimeout = 10 * time.Second
	// healthCheckPeriod finds connections a server restart broke before a
	// request does.
	healthCheckPeriod = 15 * time.Second
	idleTime          = 5 * time.Minute
	lifetime          = time.Hour
)

// Open connects a pool to the PostgreSQL server of dsn (a postgres:// URL
// or key=value string, as libpq takes) and checks that it answers. An
// unreachable server is an error wrapped with ErrUnavailable that says
// where it tried.
func Open(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN, password included: do not repeat it.
		return nil, fmt.Errorf("pgdb: invalid PostgreSQL address (-meta takes a postgres:// URL such as postgres://user@host:5432/ebsd): %w", errors.Unwrap(err))
	}
	if !dsnSets(dsn, "pool_max_conns") {
		cfg.MaxConns = int32(max(minMaxConns, 4*runtime.GOMAXPROCS(0)))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	cfg.HealthCheckPeriod = healthCheckPeriod
	cfg.MaxConnIdleTime = idleTime
	cfg.MaxConnLifetime = lifetime
	cfg.MaxConnLifetimeJitter = lifetime / 10
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgdb: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, openError(cfg.ConnConfig.Config, err)
	}
	return pool, nil
}

// openError explains a failed first connection: unreachable (wrong address,
// server down) or refused (authentication, missing database).
func openError(cfg pgconn.Config, err error) error {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if IsUnavailable(err) && Code(err) == "" {
		return fmt.Errorf("cannot reach PostgreSQL at %s: %w; is it running? -meta takes a postgres:// URL",
			addr, &unavailableError{err})
	}
	return fmt.Errorf("PostgreSQL at %s refused the connection (user %q, database %q): %w",
		addr, cfg.User, cfg.Database, Unavailable(err))
}

// dsnSets reports whether the DSN names param, in either syntax.
func dsnSets(dsn, param string) bool {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return false
	}
	_, ok := cfg.RuntimeParams[param]
	return ok
}
