package pgmeta_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/pgmeta"
)

const owner = "111122223333"

func openStore(t *testing.T, dsn string) *pgmeta.Store {
	t.Helper()
	s, err := pgmeta.Open(t.Context(), pgmeta.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func snapID(n int) string { return fmt.Sprintf("snap-%017x", 0xab000000+n) }

func root(id string, state store.State) store.Snapshot {
	return store.Snapshot{ID: id, OwnerID: owner, State: state, VolumeSize: 1, RootID: id,
		StartTime: time.Now(), Timeout: time.Hour}
}

func child(id string, parent store.Snapshot) store.Snapshot {
	s := root(id, store.StatePending)
	s.ParentID, s.RootID, s.Depth = parent.ID, parent.RootID, parent.Depth+1
	return s
}

func ref(salt string, n int32) store.BlockRef {
	d := ebs.Digest(sha256.Sum256(fmt.Appendf(nil, "%s %d", salt, n)))
	return store.BlockRef{Digest: d, Key: d}
}

// Two nodes on one database: concurrent creates of one owner, spread over
// both, never exceed the pending limit, which lives in the database.
func TestTwoNodesPendingLimit(t *testing.T) {
	dsn := pgtest.Start(t)
	nodes := []*pgmeta.Store{openStore(t, dsn), openStore(t, dsn)}
	const limit, tries = 5, 40
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			err := nodes[i%2].CreateSnapshot(t.Context(), root(snapID(i), store.StatePending), nil, limit)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrLimit):
				limited.Add(1)
			default:
				t.Errorf("CreateSnapshot: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != limit || limited.Load() != tries-limit {
		t.Fatalf("%d created, %d refused with ErrLimit; want %d and %d", ok.Load(), limited.Load(), limit, tries-limit)
	}
	// Completing one on a node frees a slot on the other.
	var first string
	err := nodes[0].ScanSnapshots(t.Context(), func(s store.Snapshot) (bool, error) { first = s.ID; return false, nil }, store.StatePending)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[0].UpdateSnapshot(t.Context(), first, func(s *store.Snapshot) error { s.State = store.StateCompleted; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].CreateSnapshot(t.Context(), root(snapID(tries), store.StatePending), nil, limit); err != nil {
		t.Fatalf("CreateSnapshot after a completion on the other node: %v", err)
	}
}

// Two nodes on one database: node 0 deletes a parent while node 1 creates
// its children. No child commits after the delete: those that exist at
// the end existed as soon as the delete returned (a create that checked
// the parent before the delete, without a lock, would commit after it),
// a create that starts after the delete fails with ErrNotFound, and
// every child that exists is one whose create returned nil.
func TestTwoNodesParentPrecondition(t *testing.T) {
	dsn := pgtest.Start(t)
	deleter, creator := openStore(t, dsn), openStore(t, dsn)
	ctx := t.Context()
	for round := range 4 {
		base := (round + 1) * 1000
		parent := root(snapID(base), store.StateCompleted)
		if err := deleter.CreateSnapshot(ctx, parent, nil, 0); err != nil {
			t.Fatal(err)
		}
		var (
			deleted   atomic.Bool
			next      atomic.Int64
			mu        sync.Mutex
			succeeded = map[string]bool{}
			wg        sync.WaitGroup
		)
		for range 6 {
			wg.Go(func() {
				for {
					n := int(next.Add(1))
					after := deleted.Load()
					c := child(snapID(base+n), parent)
					err := creator.CreateSnapshot(ctx, c, nil, 0)
					switch {
					case err == nil && after:
						t.Errorf("round %d: child %s created after its parent's delete returned", round, c.ID)
						return
					case err == nil:
						mu.Lock()
						succeeded[c.ID] = true
						mu.Unlock()
					case errors.Is(err, store.ErrNotFound):
						if after {
							return
						}
					default:
						t.Errorf("CreateSnapshot: %v", err)
						return
					}
				}
			})
		}
		for next.Load() < 10 {
			time.Sleep(time.Millisecond)
		}
		if _, err := deleter.UpdateSnapshot(ctx, parent.ID, func(s *store.Snapshot) error {
			s.State, s.DeleteTime = store.StateDeleted, time.Now()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		deleted.Store(true)
		atDelete := childrenOf(t, deleter, parent.ID)
		wg.Wait()
		children := childrenOf(t, deleter, parent.ID)
		for id := range children {
			if !succeeded[id] {
				t.Errorf("round %d: child %s exists but its create failed", round, id)
			}
			if !atDelete[id] {
				t.Errorf("round %d: child %s committed after its parent's delete returned", round, id)
			}
		}
		if len(children) != len(succeeded) {
			t.Errorf("round %d: %d children exist, %d creates succeeded", round, len(children), len(succeeded))
		}
	}
}

// childrenOf returns the IDs of the children of parent.
func childrenOf(t *testing.T, s *pgmeta.Store, parent string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	err := s.ScanSnapshots(t.Context(), func(s store.Snapshot) (bool, error) {
		if s.ParentID == parent {
			ids[s.ID] = true
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// Two nodes asking for one secret at once get the same one.
func TestTwoNodesSecret(t *testing.T) {
	dsn := pgtest.Start(t)
	nodes := []*pgmeta.Store{openStore(t, dsn), openStore(t, dsn)}
	got := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			v, err := nodes[i%2].Secret(t.Context(), "token", func() ([]byte, error) { return fmt.Appendf(nil, "secret %d", i), nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i, v := range got {
		if !bytes.Equal(v, got[0]) || len(v) == 0 {
			t.Fatalf("caller %d got %q, caller 0 %q", i, v, got[0])
		}
	}
}

// Everything a store holds is there after it is closed, PostgreSQL is
// restarted, and a new store opens the database.
func TestRestart(t *testing.T) {
	c := pgtest.NewCluster(t)
	dsn := c.Database(t)
	ctx := t.Context()
	s, err := pgmeta.Open(ctx, pgmeta.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	p := root(snapID(1), store.StatePending)
	idem := &store.Idempotency{OwnerID: owner, ClientToken: "tok", SnapshotID: p.ID, Response: []byte("resp")}
	if err := s.CreateSnapshot(ctx, p, idem, 1); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := range int32(3) {
		if err := s.PutBlock(ctx, p.ID, i, ref("r", i), at); err != nil {
			t.Fatal(err)
		}
	}
	secret, err := s.Secret(ctx, "k", func() ([]byte, error) { return []byte("v1"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dsn)
	got, err := s.GetSnapshot(ctx, p.ID)
	if err != nil || got.State != store.StatePending || !got.LastActivity.Equal(at) {
		t.Fatalf("GetSnapshot after restart = %+v, %v", got, err)
	}
	if r, err := s.GetIdempotency(ctx, owner, "tok"); err != nil || string(r.Response) != "resp" {
		t.Fatalf("GetIdempotency after restart = %+v, %v", r, err)
	}
	if n, err := s.Usage(ctx, owner); err != nil || n != 3 {
		t.Fatalf("Usage after restart = %d, %v; want 3", n, err)
	}
	if v, err := s.Secret(ctx, "k", func() ([]byte, error) { return []byte("v2"), nil }); err != nil || !bytes.Equal(v, secret) {
		t.Fatalf("Secret after restart = %q, %v; want %q", v, err, secret)
	}
	// The pending count survived too: the limit of 1 is reached.
	if err := s.CreateSnapshot(ctx, root(snapID(2), store.StatePending), nil, 1); !errors.Is(err, store.ErrLimit) {
		t.Fatalf("CreateSnapshot at the limit after restart: %v, want ErrLimit", err)
	}
}

// PostgreSQL going away mid-test: calls fail with an error that wraps
// pgdb.ErrUnavailable (the service's retryable 503), within seconds, and
// succeed again once it is back, on the same store.
func TestServerDown(t *testing.T) {
	c := pgtest.NewCluster(t)
	s := openStore(t, c.Database(t))
	ctx := t.Context()
	p := root(snapID(1), store.StatePending)
	if err := s.CreateSnapshot(ctx, p, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlock(ctx, p.ID, 0, ref("d", 0), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"GetSnapshot", func() error { _, err := s.GetSnapshot(ctx, p.ID); return err }},
		{"PutBlock", func() error { return s.PutBlock(ctx, p.ID, 1, ref("d", 1), time.Now()) }},
		{"CreateSnapshot", func() error { return s.CreateSnapshot(ctx, root(snapID(2), store.StatePending), nil, 0) }},
		{"UpdateSnapshot", func() error {
			_, err := s.UpdateSnapshot(ctx, p.ID, func(*store.Snapshot) error { return nil })
			return err
		}},
		{"ViewBlocks", func() error { _, err := s.ViewBlocks(ctx, []string{p.ID}, 0, 10); return err }},
		{"Usage", func() error { _, err := s.Usage(ctx, owner); return err }},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		if !errors.Is(err, pgdb.ErrUnavailable) {
			t.Errorf("%s with PostgreSQL down: %v, want an error wrapping pgdb.ErrUnavailable", c.name, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s took %v to fail", c.name, d)
		}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Errorf("%s after PostgreSQL is back: %v", c.name, err)
		}
	}
	if got, err := s.WrittenIndexes(ctx, []string{p.ID}, 0, 10); err != nil || len(got) != 2 {
		t.Errorf("WrittenIndexes = %v, %v; want [0 1]", got, err)
	}
}
