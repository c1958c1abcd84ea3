package pgmeta_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/pgmeta"
)

// Two nodes on one database: a lease one holds is refused to the other and
// to itself, granted again once released, and given up when the holder's
// session ends, which the holder learns from Lost.
func TestLeases(t *testing.T) {
	dsn := pgtest.Start(t)
	open := func() *pgmeta.Store {
		s, err := pgmeta.Open(t.Context(), pgmeta.Options{DSN: dsn, LeaseCheck: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()
	ctx := t.Context()
	take := func(s *pgmeta.Store, name string) store.Lease {
		t.Helper()
		l, err := s.TryLease(ctx, name)
		if err != nil {
			t.Fatalf("TryLease(%q): %v", name, err)
		}
		return l
	}
	refused := func(s *pgmeta.Store, name, who string) {
		t.Helper()
		if l, err := s.TryLease(ctx, name); !errors.Is(err, store.ErrLeaseHeld) {
			if l != nil {
				l.Release()
			}
			t.Fatalf("TryLease(%q) by %s while held = %v, want ErrLeaseHeld", name, who, err)
		}
	}

	gc := take(a, "gc")
	refused(a, "gc", "the holder")
	refused(b, "gc", "another node")
	sweep := take(b, "sweep") // another name is another lease
	gc.Release()
	gc.Release() // twice is harmless
	gcB := take(b, "gc")
	refused(a, "gc", "the first holder, after releasing it")
	gcB.Release()
	sweep.Release()

	// The holder's session ends (a network failure, an administrator):
	// the server releases the lock, and the holder notices.
	held := take(a, "gc")
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	err = pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1::bigint::oid AND granted`, int64(0x70676d6c)).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminate the lease session: %d sessions, %v", n, err)
	}
	select {
	case <-held.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the lease's session was terminated, but Lost was not closed")
	}
	take(b, "gc").Release()
	held.Release() // after loss: harmless
	take(a, "gc").Release()
}
