package pgdb_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = pgdb.Open(context.Background(), "postgres://ebsd@"+addr+"/ebsd")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	for _, want := range []string{"cannot reach PostgreSQL at " + addr, "is it running?", "-meta takes a postgres:// URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !errors.Is(err, pgdb.ErrUnavailable) {
		t.Errorf("error %v is not ErrUnavailable", err)
	}
}

func TestOpenInvalidDSN(t *testing.T) {
	_, err := pgdb.Open(context.Background(), "postgres://u:secret@host:notaport/db")
	if err == nil || !strings.Contains(err.Error(), "postgres:// URL") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Open of an invalid DSN: %v; want a hint and no password", err)
	}
}

func TestOpenMissingDatabase(t *testing.T) {
	dsn := pgtest.Start(t)
	_, err := pgdb.Open(context.Background(), strings.Replace(dsn, "?", "_nope?", 1))
	if err == nil || !strings.Contains(err.Error(), "refused the connection") {
		t.Fatalf("Open of a missing database: %v", err)
	}
}

var migrationsV1 = fstest.MapFS{
	"0001_init.sql": {Data: []byte(`CREATE TABLE t (id int PRIMARY KEY, v text);
		CREATE INDEX t_v ON t (v);`)},
	"README": {Data: []byte("not a migration")},
}

var migrationsV2 = fstest.MapFS{
	"0001_init.sql": migrationsV1["0001_init.sql"],
	"0002_more.sql": {Data: []byte(`ALTER TABLE t ADD COLUMN w int NOT NULL DEFAULT 7;`)},
}

func versions(t *testing.T, pool *pgxpool.Pool, component string) []int {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT version FROM schema_migrations WHERE component = $1 ORDER BY version`, component)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.Start(t))
	if err := pgdb.Migrate(ctx, pool, "a", migrationsV1); err != nil {
		t.Fatal(err)
	}
	// Again: nothing to do (the CREATE TABLE would fail if rerun).
	if err := pgdb.Migrate(ctx, pool, "a", migrationsV1); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO t (id, v) VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, pool, "a", migrationsV2); err != nil {
		t.Fatal(err)
	}
	var w int
	if err := pool.QueryRow(ctx, `SELECT w FROM t WHERE id = 1`).Scan(&w); err != nil || w != 7 {
		t.Fatalf("after 0002: w = %d, %v", w, err)
	}
	if got := versions(t, pool, "a"); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("versions of a = %v, want [1 2]", got)
	}
	// The older binary refuses the newer schema.
	err := pgdb.Migrate(ctx, pool, "a", migrationsV1)
	if !errors.Is(err, pgdb.ErrSchemaTooNew) || !strings.Contains(err.Error(), "upgrade ebsd") {
		t.Fatalf("Migrate with older migrations: %v, want ErrSchemaTooNew saying upgrade ebsd", err)
	}
	// Components are versioned apart.
	other := fstest.MapFS{"0001_x.sql": {Data: []byte(`CREATE TABLE u (id int);`)}}
	if err := pgdb.Migrate(ctx, pool, "b", other); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, pool, "b"); len(got) != 1 {
		t.Fatalf("versions of b = %v", got)
	}
}

func TestMigrateFailedStepLeavesPreviousVersion(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.Start(t))
	bad := fstest.MapFS{
		"0001_init.sql":   migrationsV1["0001_init.sql"],
		"0002_broken.sql": {Data: []byte(`CREATE TABLE t2 (id int); SELECT no_such_column FROM t;`)},
	}
	if err := pgdb.Migrate(ctx, pool, "a", bad); err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("Migrate with a broken step: %v", err)
	}
	if got := versions(t, pool, "a"); len(got) != 1 {
		t.Fatalf("versions = %v, want [1]", got)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 't2'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("half of the broken step stayed: %d tables t2, %v", n, err)
	}
}

func TestMigrateRejectsBadNumbering(t *testing.T) {
	pool := open(t, pgtest.Start(t))
	for name, fsys := range map[string]fstest.MapFS{
		"gap":   {"0001_a.sql": {Data: []byte(`SELECT 1`)}, "0003_c.sql": {Data: []byte(`SELECT 1`)}},
		"dup":   {"0001_a.sql": {Data: []byte(`SELECT 1`)}, "0001_b.sql": {Data: []byte(`SELECT 1`)}},
		"empty": {"init.sql": {Data: []byte(`SELECT 1`)}},
	} {
		if err := pgdb.Migrate(context.Background(), pool, name, fsys); err == nil {
			t.Errorf("%s: Migrate succeeded", name)
		}
	}
}

// Nodes starting at once: each migration runs exactly once (a second run
// of 0001 would fail on CREATE TABLE, and the unique version would fail
// the insert).
func TestMigrateConcurrentNodes(t *testing.T) {
	dsn := pgtest.Start(t)
	slow := fstest.MapFS{
		"0001_init.sql": {Data: []byte(`CREATE TABLE t (id int PRIMARY KEY); SELECT pg_sleep(0.2);`)},
		"0002_more.sql": {Data: []byte(`INSERT INTO t VALUES (1);`)},
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		pool := open(t, dsn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pgdb.Migrate(context.Background(), pool, "a", slow)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}

func TestRetryTxSerializationFailure(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.Start(t))
	if _, err := pool.Exec(ctx, `CREATE TABLE c (id int PRIMARY KEY, n int); INSERT INTO c VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	// n concurrent serializable increments: without retries some fail
	// with 40001; with them, all land.
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var calls int
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- pgdb.RetryTx(ctx, pool, pgdb.TxOptions{TxOptions: pgx.TxOptions{IsoLevel: pgx.Serializable}, Attempts: 50},
				func(tx pgx.Tx) error {
					mu.Lock()
					calls++
					mu.Unlock()
					var v int
					if err := tx.QueryRow(ctx, `SELECT n FROM c WHERE id = 1`).Scan(&v); err != nil {
						return err
					}
					time.Sleep(5 * time.Millisecond) // let the others read too
					_, err := tx.Exec(ctx, `UPDATE c SET n = $1 WHERE id = 1`, v+1)
					return err
				})
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var v int
	if err := pool.QueryRow(ctx, `SELECT n FROM c WHERE id = 1`).Scan(&v); err != nil || v != n {
		t.Fatalf("n = %d, %v; want %d", v, err, n)
	}
	if calls <= n {
		t.Fatalf("fn ran %d times for %d transactions: no conflict was retried", calls, n)
	}
	t.Logf("%d transactions, %d attempts", n, calls)
}

func TestRetryTxLostConnection(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.Start(t))
	if _, err := pool.Exec(ctx, `CREATE TABLE c (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err := pgdb.RetryTx(ctx, pool, pgdb.TxOptions{}, func(tx pgx.Tx) error {
		attempts++
		if _, err := tx.Exec(ctx, `INSERT INTO c VALUES (1)`); err != nil {
			return err
		}
		if attempts == 1 { // the server ends this session mid-transaction
			_, err := tx.Exec(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
			return err
		}
		return nil
	})
	if err != nil || attempts != 2 {
		t.Fatalf("RetryTx = %v after %d attempts, want nil after 2", err, attempts)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM c`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows, %v; want 1", n, err)
	}
}

func TestRetryTxOwnErrorNotRetried(t *testing.T) {
	pool := open(t, pgtest.Start(t))
	mine := errors.New("mine")
	for _, tc := range []struct {
		name string
		fn   func(pgx.Tx) error
		want func(error) bool
	}{
		{"own error", func(pgx.Tx) error { return mine }, func(err error) bool { return errors.Is(err, mine) }},
		{"SQL error", func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `SELECT * FROM no_such_table`)
			return err
		}, func(err error) bool { return pgdb.Code(err) == "42P01" && !errors.Is(err, pgdb.ErrUnavailable) }},
	} {
		attempts := 0
		err := pgdb.RetryTx(context.Background(), pool, pgdb.TxOptions{}, func(tx pgx.Tx) error {
			attempts++
			return tc.fn(tx)
		})
		if !tc.want(err) || attempts != 1 {
			t.Errorf("%s: RetryTx = %v after %d attempts", tc.name, err, attempts)
		}
	}
}

func TestRetryTxServerDown(t *testing.T) {
	c := pgtest.NewCluster(t)
	pool := open(t, c.Database(t))
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := pgdb.RetryTx(context.Background(), pool, pgdb.TxOptions{Attempts: 3}, func(tx pgx.Tx) error { return nil })
	if !errors.Is(err, pgdb.ErrUnavailable) {
		t.Fatalf("RetryTx with the server down = %v, want ErrUnavailable", err)
	}
	t.Logf("failed after %v: %v", time.Since(start), err)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.RetryTx(context.Background(), pool, pgdb.TxOptions{}, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `SELECT 1`)
		return err
	}); err != nil {
		t.Fatalf("RetryTx after the server is back: %v", err)
	}
}
