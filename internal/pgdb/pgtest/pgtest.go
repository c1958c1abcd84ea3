package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable holding an admin DSN of a server to create
// test databases on, instead of starting a cluster.
const EnvDSN = "EBSD_TEST_POSTGRES"

// EnvFsync, when set (to anything), makes the throwaway clusters durable:
// fsync and synchronous_commit on, as in production, for benchmarks that
// compare with backends that sync.
const EnvFsync = "EBSD_PGTEST_FSYNC"

// shared is the cluster the tests of this binary share, started by the
// first Start and stopped by Main. A test helper's state: it lives as
// long as the test binary.
var shared struct {
	mu      sync.Mutex
	cluster *Cluster
	err     error // why the cluster could not start, sticky
}

// dbSeq numbers the databases of this binary.
var dbSeq atomic.Int64

// Start returns the DSN of a new, empty database for t, on the server of
// EBSD_TEST_POSTGRES or on the binary's shared throwaway cluster. It
// skips t when PostgreSQL is not installed, unless CI is set.
func Start(t testing.TB) string {
	t.Helper()
	if admin := os.Getenv(EnvDSN); admin != "" {
		name := dbName(t, true)
		dsn, err := createDatabase(admin, name)
		if err != nil {
			t.Fatalf("pgtest: %s=%s: %v", EnvDSN, redact(admin), err)
		}
		t.Cleanup(func() { dropDatabase(t, admin, name) })
		return dsn
	}
	c := sharedCluster(t)
	dsn, err := createDatabase(c.AdminDSN(), dbName(t, false))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// The cluster is thrown away whole: no DROP DATABASE, which costs a
	// checkpoint.
	return dsn
}

// sharedCluster returns the binary's cluster, starting it on first use.
func sharedCluster(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cluster == nil && shared.err == nil {
		shared.cluster, shared.err = newCluster()
	}
	if shared.err != nil {
		fail(t, shared.err)
	}
	return shared.cluster
}

// NewCluster starts a cluster of t's own, which t may Stop, Start and
// Restart; it is removed when t ends. Its Database method makes a new
// database. With EBSD_TEST_POSTGRES set, the test is skipped: it needs a
// server it may restart.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	if os.Getenv(EnvDSN) != "" {
		t.Skipf("pgtest: %s is set and this test needs a server of its own to restart", EnvDSN)
	}
	c, err := newCluster()
	if err != nil {
		fail(t, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// Database creates a new, empty database on c and returns its DSN.
func (c *Cluster) Database(t testing.TB) string {
	t.Helper()
	dsn, err := createDatabase(c.AdminDSN(), dbName(t, false))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// fail skips t when PostgreSQL is not installed and CI is not set, and
// fails it otherwise.
func fail(t testing.TB, err error) {
	t.Helper()
	if errors.As(err, new(errNotInstalled)) && os.Getenv("CI") == "" {
		t.Skipf("pgtest: %v", err)
	}
	t.Fatalf("pgtest: %v", err)
}

// Main runs the tests, stops the shared cluster and exits:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) { os.Exit(Finish(m.Run())) }

// Finish stops the shared cluster after the tests ran with exit status
// code, and returns the status to exit with: code, or 1 when the stop
// failed. A test binary that also starts other servers ends with
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Finish(s3test.Run(m))) }
func Finish(code int) int {
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Stop stops and removes the shared cluster, if one was started.
func Stop() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cluster == nil {
		return nil
	}
	err := shared.cluster.Close()
	shared.cluster = nil
	return err
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// dbName is a database name unique in this binary (and, with random, on
// a server other binaries share), readable after t's name.
func dbName(t testing.TB, random bool) string {
	name := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 32 {
		name = name[:32]
	}
	name = fmt.Sprintf("t%d_%s", dbSeq.Add(1), name)
	if random {
		var b [4]byte
		_, _ = rand.Read(b[:])
		name += "_" + hex.EncodeToString(b[:])
	}
	return name
}

// createDatabase creates database name on the server of admin and returns
// its DSN.
func createDatabase(admin, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return withDatabase(admin, name)
}

// dropDatabase drops a database Start created on a shared server.
func dropDatabase(t testing.TB, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Logf("pgtest: drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Logf("pgtest: drop database %s: %v", name, err)
	}
}

// withDatabase returns dsn naming database name instead of its own.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// key=value: a later key overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

// redact hides a DSN's password for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}
