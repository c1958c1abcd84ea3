package pebblemeta

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/ebsd/ebsd/internal/store"
)

// replacedTree makes a lineage root -> mid -> tip in s, completed, with
// writes: root's every index below n, mid's random ones, tip
// more than replacedChunk of them so that its R entries take several
// batches. It returns the IDs, root first. arm, when not nil, runs just
// before the tip completes.
func replacedTree(t *testing.T, s *Store, n int32, arm ...func()) []string {
	t.Helper()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(5, 6))
	var ids []string
	for g, writes := range []int{int(n), 300, replacedChunk + 500} {
		rec := store.Snapshot{ID: fmt.Sprintf("snap-%017x", g), OwnerID: "111122223333", State: store.StatePending}
		rec.RootID = rec.ID
		if g > 0 {
			rec.ParentID, rec.RootID, rec.Depth = ids[g-1], ids[0], g
		}
		if err := s.CreateSnapshot(ctx, rec, nil, 0); err != nil {
			t.Fatal(err)
		}
		for k := range writes {
			i := int32(k) // the root's and the tip's: distinct
			if g == 1 {
				i = rng.Int32N(2 * n) // half of them past the root's
			}
			ref := store.BlockRef{Digest: sha256.Sum256(fmt.Appendf(nil, "%d %d", g, i))}
			if err := s.PutBlock(ctx, rec.ID, i, ref, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if g == 2 && len(arm) > 0 {
			arm[0]()
		}
		if _, err := s.UpdateSnapshot(ctx, rec.ID, func(r *store.Snapshot) error {
			r.State = store.StateCompleted
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	return ids
}

// wantOwnChanges is OwnChanges of own computed with ViewBlocks and
// ResolveBlocks: the mapping of own's view, and the view of common (the
// chain of own's last snapshot's parent) at each of own's indexes.
func wantOwnChanges(t *testing.T, s *Store, own, common []string) []store.OwnChange {
	t.Helper()
	ctx := t.Context()
	view, err := s.ViewBlocks(ctx, own, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	indexes := make([]int32, len(view))
	for k, r := range view {
		indexes[k] = r.Index
	}
	refs, found, err := s.ResolveBlocks(ctx, common, indexes)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]store.OwnChange, len(view))
	for k, r := range view {
		out[k] = store.OwnChange{Index: r.Index, Ref: r.Ref, Replaced: refs[k], Replaces: found[k], Known: true}
	}
	return out
}

// TestOwnChanges checks OwnChanges against ViewBlocks and ResolveBlocks,
// for the tip alone and for tip and mid, from several starts and with
// several limits; and that a snapshot whose R keys lack their marker, or
// carry one of another version, reads as not recorded.
func TestOwnChanges(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, Options{Dir: "/meta", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := replacedTree(t, s, 2000)
	root, mid, tip := ids[0], ids[1], ids[2]

	for _, c := range []struct{ own, common []string }{
		{[]string{tip}, []string{mid, root}},
		{[]string{tip, mid}, []string{root}},
		{[]string{mid}, []string{root}},
	} {
		want := wantOwnChanges(t, s, c.own, c.common)
		for _, start := range []int32{0, 1, 777, 3999, 4000} {
			for _, limit := range []int{1, 100, 1 << 20} {
				from, _ := slices.BinarySearchFunc(want, start, func(o store.OwnChange, i int32) int { return int(o.Index - i) })
				w := want[from:min(len(want), from+limit)]
				got, err := s.OwnChanges(ctx, c.own, start, limit)
				if err != nil || !slices.Equal(got, w) {
					t.Fatalf("OwnChanges(%v, %d, %d): %d changes, %v; want %d", c.own, start, limit, len(got), err, len(w))
				}
			}
		}
	}

	// Without a marker of this version, mid's R entries are not read: an
	// index whose oldest writer is mid is not Known, one whose oldest is
	// the tip still is.
	for _, marker := range [][]byte{nil, {replacedVersion + 1}} {
		if marker == nil {
			err = s.db.Delete(replacedPrefix(mid), pebble.Sync)
		} else {
			err = s.db.Set(replacedPrefix(mid), marker, pebble.Sync)
		}
		if err != nil {
			t.Fatal(err)
		}
		s.marked.forget(mid) // what a store opened now would know
		got, err := s.OwnChanges(ctx, []string{tip, mid}, 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		want := wantOwnChanges(t, s, []string{tip, mid}, []string{root})
		midOwn := map[int32]bool{}
		if err := s.OwnBlocks(ctx, mid, 0, func(r store.IndexedRef) (bool, error) { midOwn[r.Index] = true; return true, nil }); err != nil {
			t.Fatal(err)
		}
		for k := range want {
			if midOwn[want[k].Index] {
				want[k].Replaced, want[k].Replaces, want[k].Known = store.BlockRef{}, false, false
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("marker %v: OwnChanges reads mid's R entries", marker)
		}
	}
}

// replacedKeys counts the R keys of snapshot id, its marker included.
func replacedKeys(t *testing.T, s *Store, id string) int {
	t.Helper()
	n := 0
	p := replacedPrefix(id)
	if err := s.scan(t.Context(), p, prefixEnd(p), func(_, _ []byte) (bool, error) { n++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplacedPurged checks that PurgeSnapshot removes a tombstone's R
// keys with it, and a failed snapshot's left by a completion that did not
// commit; and that a completion that runs again replaces an earlier
// attempt's entries.
func TestReplacedPurged(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, Options{Dir: "/meta", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := replacedTree(t, s, 2000)
	tip := ids[2]
	var w int
	if err := s.OwnBlocks(ctx, tip, 0, func(store.IndexedRef) (bool, error) { w++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if got := replacedKeys(t, s, tip); got != w+1 {
		t.Fatalf("tip has %d R keys, want one per write (%d) and its marker", got, w)
	}
	if got := replacedKeys(t, s, ids[0]); got != 0 {
		t.Fatalf("the root has %d R keys, want none", got)
	}
	if _, err := s.UpdateSnapshot(ctx, tip, func(r *store.Snapshot) error { r.State = store.StateDeleted; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeSnapshot(ctx, tip); err != nil {
		t.Fatal(err)
	}
	if got := replacedKeys(t, s, tip); got != 0 {
		t.Fatalf("purged tombstone has %d R keys left", got)
	}

	// A failed snapshot with the entries of a completion that did not
	// commit (a crash between its batches), and a stale entry.
	rec := store.Snapshot{ID: "snap-failed000000000", OwnerID: "111122223333", State: store.StatePending,
		ParentID: ids[1], RootID: ids[0], Depth: 2}
	if err := s.CreateSnapshot(ctx, rec, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlock(ctx, rec.ID, 7, store.BlockRef{Digest: sha256.Sum256([]byte("x"))}, time.Now()); err != nil {
		t.Fatal(err)
	}
	stale := appendIndex(replacedPrefix(rec.ID), 9)
	if err := s.db.Set(stale, encodeRef(store.BlockRef{}), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	// A completion that runs again drops the stale entry.
	b := s.db.NewBatch()
	if err := s.recordReplaced(ctx, rec, b); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	if _, err := s.get(stale); err == nil {
		t.Fatal("recordReplaced left an earlier attempt's entry")
	}
	if got := replacedKeys(t, s, rec.ID); got != 2 {
		t.Fatalf("after recordReplaced: %d R keys, want the write's and the marker", got)
	}
	if _, err := s.UpdateSnapshot(ctx, rec.ID, func(r *store.Snapshot) error { r.State = store.StateError; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeSnapshot(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if got := replacedKeys(t, s, rec.ID); got != 0 {
		t.Fatalf("purged failed snapshot has %d R keys left", got)
	}
}

// TestUpgradeFromVersion4 checks that a store of version 4, which has no
// R keys, opens as version 5 and lists its snapshots' own changes as not
// recorded.
func TestUpgradeFromVersion4(t *testing.T) {
	ctx := t.Context()
	fs := vfs.NewMem()
	s, err := Open(ctx, Options{Dir: "/meta", FS: fs, SkipReplaced: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := replacedTree(t, s, 100)
	if err := s.db.Set([]byte{spaceVersion}, []byte{4}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, Options{Dir: "/meta", FS: fs}); err != nil {
		t.Fatalf("Open of a version 4 store: %v", err)
	}
	defer s.Close()
	if v, err := s.get([]byte{spaceVersion}); err != nil || len(v) != 1 || v[0] != formatVersion {
		t.Fatalf("version after Open = %v, %v; want %d", v, err, formatVersion)
	}
	got, err := s.OwnChanges(ctx, []string{ids[2]}, 0, 1<<20)
	if err != nil || len(got) == 0 {
		t.Fatalf("OwnChanges: %d, %v", len(got), err)
	}
	for _, c := range got {
		if c.Known {
			t.Fatalf("index %d of a snapshot completed without R keys is Known", c.Index)
		}
	}
}

// TestCompleteCrash cuts the power before every write to the log while a
// snapshot whose R entries take several batches completes, keeping all or
// a random part of what was not synced, and checks every store it leaves:
// the snapshot is either completed with its marker and every R entry, or
// not completed and without a marker, so that OwnChanges reads it as not
// recorded (and a completion that runs again rewrites its entries).
func TestCompleteCrash(t *testing.T) {
	ctx := t.Context()
	const dir = "/meta"
	mem := vfs.NewCrashableMem()
	opts := Options{Dir: dir, MinFreeBytes: -1, Logger: slog.New(slog.DiscardHandler)}
	var (
		mu     sync.Mutex
		armed  bool
		rng    = rand.New(rand.NewPCG(13, 14))
		clones []*vfs.MemFS
	)
	cut := errorfs.InjectorFunc(func(op errorfs.Op) error {
		mu.Lock()
		defer mu.Unlock()
		if armed && strings.HasSuffix(op.Path, ".log") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileSync) {
			for _, pct := range []int{100, rng.IntN(100)} {
				clones = append(clones, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng}))
			}
		}
		return nil
	})
	o := opts
	o.FS = errorfs.Wrap(mem, cut)
	s, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	ids := replacedTree(t, s, 500, func() { mu.Lock(); armed = true; mu.Unlock() })
	mu.Lock()
	armed = false
	// And after: what the completion synced, nothing else.
	clones = append(clones, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0, RNG: rng}))
	mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d power cuts", len(clones))
	if len(clones) < 4 {
		t.Fatalf("only %d power cuts: the completion wrote less than expected", len(clones))
	}
	tip, common := ids[2], []string{ids[1], ids[0]}
	completed := 0
	// A dozen of them, evenly spread, and the last (completed): opening
	// each costs a replay of the log, which the race detector makes slow.
	var sample []*vfs.MemFS
	for i := 0; i < len(clones)-1; i += max(1, len(clones)/12) {
		sample = append(sample, clones[i])
	}
	clones = append(sample, clones[len(clones)-1])
	for i, clone := range clones {
		o := opts
		o.FS = clone
		s, err := Open(ctx, o)
		if err != nil {
			t.Fatalf("Open after power cut %d: %v", i, err)
		}
		rec, err := s.GetSnapshot(ctx, tip)
		if err != nil {
			t.Fatal(err)
		}
		done := rec.State == store.StateCompleted
		want := wantOwnChanges(t, s, []string{tip}, common)
		if !done {
			for k := range want {
				want[k].Replaced, want[k].Replaces, want[k].Known = store.BlockRef{}, false, false
			}
		} else {
			completed++
		}
		got, err := s.OwnChanges(ctx, []string{tip}, math.MinInt32, 1<<20)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("power cut %d (completed: %v): OwnChanges differs from ViewBlocks and ResolveBlocks (%v)", i, done, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if completed == 0 || completed == len(clones) {
		t.Errorf("%d of %d power cuts left the snapshot completed: the cuts do not straddle the commit", completed, len(clones))
	}
}

// TestImportRecordsReplaced checks that ImportSnapshot records what a
// completed child's writes replaced once its parent is imported, as its
// completion would have, and imports one whose parent is missing without
// them.
func TestImportRecordsReplaced(t *testing.T) {
	ctx := t.Context()
	open := func() *Store {
		s, err := Open(ctx, Options{Dir: "/meta", FS: vfs.NewMem(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	from := open()
	ids := replacedTree(t, from, 2000)
	imp := func(to *Store, id string) {
		t.Helper()
		rec, err := from.GetSnapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var blocks []store.IndexedRef
		if err := from.OwnBlocks(ctx, id, math.MinInt32, func(r store.IndexedRef) (bool, error) {
			blocks = append(blocks, r)
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := to.ImportSnapshot(ctx, rec, nil, blocks); err != nil {
			t.Fatal(err)
		}
	}
	to := open()
	for _, id := range ids {
		imp(to, id)
	}
	for _, own := range [][]string{{ids[2]}, {ids[2], ids[1]}} {
		want, err := from.OwnChanges(ctx, own, math.MinInt32, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, err := to.OwnChanges(ctx, own, math.MinInt32, 1<<20)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("OwnChanges(%v) after import: %d changes, %v; want the source's %d", own, len(got), err, len(want))
		}
		if !slices.ContainsFunc(got, func(c store.OwnChange) bool { return c.Known }) {
			t.Fatalf("OwnChanges(%v) after import: nothing Known", own)
		}
	}

	orphan := open()
	imp(orphan, ids[2])
	if got := replacedKeys(t, orphan, ids[2]); got != 0 {
		t.Fatalf("imported without its parent: %d R keys", got)
	}
}
