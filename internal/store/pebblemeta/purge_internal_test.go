package pebblemeta

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/ebsd/ebsd/internal/store"
)

// purgeKeys is what the store holds of one snapshot, key by key.
type purgeKeys struct {
	record  bool
	index   int // P, O and D keys
	w, l    []int32
	written bool // an A key
}

// keysOf reads, straight from the database, every key of snapshot id,
// whose lineage tree is root's.
func keysOf(t *testing.T, s *Store, id, root string) purgeKeys {
	t.Helper()
	ctx := t.Context()
	var k purgeKeys
	if _, err := s.get(snapshotKey(id)); err == nil {
		k.record = true
	}
	if _, err := s.get(activityKey(id)); err == nil {
		k.written = true
	}
	for _, space := range []byte{spaceState, spacePending, spaceList} {
		err := s.scan(ctx, []byte{space}, []byte{space + 1}, func(key, _ []byte) (bool, error) {
			if bytes.HasSuffix(key, []byte(id)) {
				k.index++
			}
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := ownBlocks(ctx, s.db, id, -1<<31, func(r store.IndexedRef) (bool, error) {
		k.w = append(k.w, r.Index)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	prefix := layoutPrefix(root)
	err = s.scan(ctx, prefix, prefixEnd(prefix), func(key, _ []byte) (bool, error) {
		e, err := decodeLayout(key, len(prefix))
		if err == nil && string(e.id) == id {
			k.l = append(k.l, e.index)
		}
		return true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(k.l)
	return k
}

// TestPurgeCrash cuts the power before every write to the log while
// PurgeSnapshot removes a tombstone and a failed snapshot, each with more
// mappings than one batch holds, keeping all or a random part of what was
// not synced. Every store it leaves must be one a purge can finish: the
// tombstone's record stays until its last mapping is gone, W and L keys
// always agree, and the sibling's view never changes. Then PurgeSnapshot
// again leaves exactly what an uninterrupted purge does.
func TestPurgeCrash(t *testing.T) {
	ctx := t.Context()
	const dir = "/meta"
	mem := vfs.NewCrashableMem()
	var (
		armed  atomic.Bool
		mu     sync.Mutex
		rng    = rand.New(rand.NewPCG(13, 14))
		clones []*vfs.MemFS
		cuts   int
	)
	cut := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if armed.Load() && strings.HasSuffix(op.Path, ".log") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileSync) {
			mu.Lock()
			defer mu.Unlock()
			// All that was written, which holds the batches written so far
			// whole; and now and then a random part of it, which tears one
			// (Pebble drops it whole). Opening a torn log costs Pebble a
			// search for a flipped bit, so only now and then.
			pcts := []int{100}
			if cuts++; cuts%6 == 1 {
				pcts = append(pcts, rng.IntN(100))
			}
			for _, pct := range pcts {
				clones = append(clones, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng}))
			}
		}
		return nil
	})
	opts := Options{Dir: dir, MinFreeBytes: -1, Logger: slog.New(slog.DiscardHandler)}
	o := opts
	o.FS = errorfs.Wrap(mem, cut)
	s, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}

	// A root, a tombstone child of 2.5 batches, a failed child of 1.1,
	// and a sibling that overwrites some of their indexes.
	rec := func(n int, parent string, state store.State) store.Snapshot {
		r := store.Snapshot{ID: fmt.Sprintf("snap-%017x", n), OwnerID: "111122223333", State: state, RootID: "snap-00000000000000001"}
		if parent != "" {
			r.ParentID, r.Depth = parent, 1
		}
		if err := s.CreateSnapshot(ctx, r, nil, 0); err != nil {
			t.Fatal(err)
		}
		return r
	}
	write := func(id string, n int) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := g; i < n; i += 8 {
					ref := store.BlockRef{Digest: sha256.Sum256(fmt.Appendf(nil, "%s %d", id, i))}
					if err := s.PutBlock(ctx, id, int32(i), ref, time.Now()); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	setState := func(id string, st store.State) {
		if _, err := s.UpdateSnapshot(ctx, id, func(r *store.Snapshot) error { r.State = st; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	root := rec(1, "", store.StatePending)
	write(root.ID, 40)
	setState(root.ID, store.StateCompleted)
	dead := rec(2, root.ID, store.StatePending)
	write(dead.ID, 2*purgeBatch+purgeBatch/2)
	setState(dead.ID, store.StateCompleted)
	setState(dead.ID, store.StateDeleted)
	failed := rec(3, root.ID, store.StatePending)
	write(failed.ID, purgeBatch+100)
	setState(failed.ID, store.StateError)
	sib := rec(4, root.ID, store.StatePending)
	write(sib.ID, 30)
	setState(sib.ID, store.StateCompleted)
	if t.Failed() {
		t.FailNow()
	}
	sibChain := []string{sib.ID, root.ID}
	wantView, err := s.ViewBlocks(ctx, sibChain, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	wantFailed, err := s.GetSnapshot(ctx, failed.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantFailed.LastActivity = time.Time{}

	// check checks what a crash may leave, then purges again and checks
	// what any purge must leave.
	check := func(t *testing.T, s *Store, what string) (partial bool) {
		t.Helper()
		checkUsageExact(t, s, what)
		defer checkUsageExact(t, s, what+", purged again")
		for _, id := range []string{dead.ID, failed.ID} {
			k := keysOf(t, s, id, root.ID)
			if !slices.Equal(k.w, k.l) {
				t.Errorf("%s: %s has W keys of %d indexes and L keys of %d: they disagree", what, id, len(k.w), len(k.l))
			}
			if !k.record && (len(k.w) > 0 || k.index > 0 || k.written) {
				t.Errorf("%s: %s has no record but %d W keys, %d index keys, A key %v", what, id, len(k.w), k.index, k.written)
			}
			if k.record && len(k.w) > 0 && len(k.w) < 2*purgeBatch+purgeBatch/2 && id == dead.ID {
				partial = true
			}
		}
		if _, err := s.GetSnapshot(ctx, failed.ID); err != nil {
			t.Errorf("%s: the failed snapshot's record: %v", what, err)
		}
		for _, id := range []string{dead.ID, failed.ID} {
			if err := s.PurgeSnapshot(ctx, id); err != nil {
				t.Fatalf("%s: PurgeSnapshot(%s) again: %v", what, id, err)
			}
		}
		if k := keysOf(t, s, dead.ID, root.ID); k.record || k.index > 0 || k.written || len(k.w) > 0 || len(k.l) > 0 {
			t.Errorf("%s, purged again: the tombstone left %+v", what, k)
		}
		k := keysOf(t, s, failed.ID, root.ID)
		if !k.record || k.written || len(k.w) > 0 || len(k.l) > 0 {
			t.Errorf("%s, purged again: the failed snapshot left %d W keys, %d L keys, A key %v; record %v",
				what, len(k.w), len(k.l), k.written, k.record)
		}
		if got, err := s.GetSnapshot(ctx, failed.ID); err != nil || got.State != store.StateError || !got.LastActivity.IsZero() {
			t.Errorf("%s, purged again: the failed snapshot = %+v, %v; want %+v", what, got, err, wantFailed)
		}
		if got, err := s.ViewBlocks(ctx, sibChain, 0, 1<<20); err != nil || !slices.Equal(got, wantView) {
			t.Errorf("%s: the sibling's view changed: %d blocks, %v; want %d", what, len(got), err, len(wantView))
		}
		return partial
	}

	// What the setup wrote goes to a table, so that each reopen below
	// replays only the purge's log.
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	for _, id := range []string{dead.ID, failed.ID} {
		if err := s.PurgeSnapshot(ctx, id); err != nil {
			t.Fatalf("PurgeSnapshot(%s): %v", id, err)
		}
	}
	armed.Store(false)
	check(t, s, "uninterrupted")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d power cuts", len(clones))
	partials := 0
	for i, clone := range clones {
		o := opts
		o.FS = clone
		s, err := Open(ctx, o)
		if err != nil {
			t.Fatalf("Open after power cut %d: %v", i, err)
		}
		if check(t, s, fmt.Sprintf("power cut %d", i)) {
			partials++
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if partials == 0 {
		t.Errorf("no power cut left a tombstone purged part-way: the test did not test that")
	}
	t.Logf("%d left the tombstone purged part-way", partials)
}
