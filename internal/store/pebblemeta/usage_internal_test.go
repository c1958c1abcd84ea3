package pebblemeta

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// checkUsageExact fails t unless every U key of s holds the count of its
// owner's non-zero W keys, and no other U key exists.
func checkUsageExact(t *testing.T, s *Store, what string) {
	t.Helper()
	want, err := countUsage(t.Context(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]int64)
	err = s.ScanUsage(t.Context(), func(owner string, n int64) (bool, error) {
		got[owner] = n
		return true, nil
	})
	if err != nil {
		t.Fatalf("%s: ScanUsage: %v", what, err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s: U keys %v, want the recount from the W keys %v", what, got, want)
	}
}

// TestUsagePutCrash cuts the power before every write to the log while
// PutBlocks of two owners race, overwriting each other's indexes with
// zero and non-zero blocks: every store a cut leaves must hold U keys
// that count exactly the W keys it holds, however much of the unsynced
// log it kept.
func TestUsagePutCrash(t *testing.T) {
	ctx := t.Context()
	const dir = "/meta"
	mem := vfs.NewCrashableMem()
	var (
		armed  atomic.Bool
		mu     sync.Mutex
		rng    = rand.New(rand.NewPCG(21, 22))
		clones []*vfs.MemFS
		writes int
	)
	cut := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if armed.Load() && strings.HasSuffix(op.Path, ".log") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileSync) {
			mu.Lock()
			defer mu.Unlock()
			// One cut in 8 writes keeps the reopens within the time of a
			// unit test; now and then a random part of the unsynced log.
			if writes++; writes%8 == 0 {
				clones = append(clones, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: []int{100, rng.IntN(100)}[writes/8%2], RNG: rng}))
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
	var ids []string
	for n, owner := range []string{"111122223333", "444455556666", "111122223333"} {
		id := fmt.Sprintf("snap-%017x", n+1)
		if err := s.CreateSnapshot(ctx, store.Snapshot{ID: id, OwnerID: owner, State: store.StatePending, RootID: id}, nil, 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	armed.Store(true)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 60 {
				ref := store.BlockRef{Digest: sha256.Sum256(fmt.Appendf(nil, "%d %d", g, i))}
				if (g+i)%3 == 0 {
					ref = store.BlockRef{Digest: ebs.ZeroBlockDigest, Key: ebs.ZeroBlockDigest}
				}
				if err := s.PutBlock(ctx, ids[(g+i)%len(ids)], int32(i%20), ref, time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	armed.Store(false)
	checkUsageExact(t, s, "uninterrupted")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d power cuts", len(clones))
	if len(clones) < 4 {
		t.Fatalf("only %d power cuts: the puts wrote less than expected", len(clones))
	}
	for i, clone := range clones {
		o := opts
		o.FS = clone
		s, err := Open(ctx, o)
		if err != nil {
			t.Fatalf("Open after power cut %d: %v", i, err)
		}
		checkUsageExact(t, s, fmt.Sprintf("power cut %d", i))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpgradeFromVersion3 opens a store of format version 3, which has no
// U keys (and, to check the upgrade rebuilds rather than adds, a stale
// one): Open counts them from the W keys and stamps version 4.
func TestUpgradeFromVersion3(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	const owner = "111122223333"
	id := "snap-00000000000000001"
	if err := s.CreateSnapshot(ctx, store.Snapshot{ID: id, OwnerID: owner, State: store.StatePending, RootID: id}, nil, 0); err != nil {
		t.Fatal(err)
	}
	for i := range int32(5) {
		ref := store.BlockRef{Digest: sha256.Sum256(fmt.Appendf(nil, "%d", i))}
		if i == 4 {
			ref = store.BlockRef{Digest: ebs.ZeroBlockDigest}
		}
		if err := s.PutBlock(ctx, id, i, ref, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// Make it what version 3 wrote: V = 3 and no U key but a stale one.
	b := s.db.NewBatch()
	_ = b.Delete(usageKey(owner), nil)
	_ = setUsage(b, "999999999999", 7)
	_ = b.Set([]byte{spaceVersion}, []byte{3}, nil)
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open of a version 3 store: %v", err)
	}
	defer s.Close()
	if v, err := s.get([]byte{spaceVersion}); err != nil || len(v) != 1 || v[0] != formatVersion {
		t.Fatalf("version after Open = %v, %v; want %d", v, err, formatVersion)
	}
	if n, err := s.Usage(ctx, owner); err != nil || n != 4 {
		t.Errorf("Usage(%s) after the upgrade = %d, %v; want 4", owner, n, err)
	}
	checkUsageExact(t, s, "after the upgrade")
}
