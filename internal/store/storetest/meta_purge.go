package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about MetaCollector.PurgeSnapshot.

// only returns l restricted to the snapshots ids, for metaReadLineage
// after the others are purged.
func (l *metaLineage) only(ids ...string) *metaLineage {
	c := *l
	c.ids = ids
	return &c
}

// metaPurge purges snapshot id, failing tb on an error.
func metaPurge(tb testing.TB, env *metaEnv, id string) {
	tb.Helper()
	if err := metaCollector(tb, env).PurgeSnapshot(env.ctx, id); err != nil {
		tb.Fatalf("PurgeSnapshot(%s): %v", id, err)
	}
}

// metaWantGone fails tb unless snapshot id is gone: no record, no
// mappings, not in a scan, and every call on it answers as for a snapshot
// that never existed.
func metaWantGone(tb testing.TB, env *metaEnv, id string) {
	tb.Helper()
	if _, err := env.ms.GetSnapshot(env.ctx, id); !errors.Is(err, store.ErrNotFound) {
		tb.Errorf("GetSnapshot(purged %s): error = %v, want ErrNotFound", id, err)
	}
	if got := metaOwn(tb, env, id, 0); len(got) != 0 {
		tb.Errorf("OwnBlocks(purged %s) = %v, want none", id, got)
	}
	if got, err := env.ms.WrittenIndexes(env.ctx, []string{id}, 0, 100); err != nil || len(got) != 0 {
		tb.Errorf("WrittenIndexes(purged %s) = %v, %v; want none", id, got, err)
	}
	if slices.Contains(metaScanIDs(tb, env), id) || slices.Contains(metaScanIDs(tb, env, store.StateDeleted), id) {
		tb.Errorf("ScanSnapshots finds purged %s", id)
	}
	if err := env.ms.PutBlock(env.ctx, id, 0, metaRef("purged", 0), time.Now()); !errors.Is(err, store.ErrNotFound) {
		tb.Errorf("PutBlock(purged %s): error = %v, want ErrNotFound", id, err)
	}
	if _, err := env.ms.UpdateSnapshot(env.ctx, id, func(*store.Snapshot) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		tb.Errorf("UpdateSnapshot(purged %s): error = %v, want ErrNotFound", id, err)
	}
}

// metaResolveSame fails tb unless ViewBlocks and ResolveBlocks through
// chain answer as through want: a chain that names a purged snapshot
// resolves as if it did not, because its mappings are gone from every
// index of the lineage.
func metaResolveSame(tb testing.TB, env *metaEnv, step string, chain, want []string) {
	tb.Helper()
	indexes := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	gv, err1 := env.ms.ViewBlocks(env.ctx, chain, 0, 100)
	wv, err2 := env.ms.ViewBlocks(env.ctx, want, 0, 100)
	if err1 != nil || err2 != nil || !slices.Equal(gv, wv) {
		tb.Errorf("%s: ViewBlocks(%v) = %v, %v; want ViewBlocks(%v) = %v, %v", step, chain, gv, err1, want, wv, err2)
	}
	gr, gf, err1 := env.ms.ResolveBlocks(env.ctx, chain, indexes)
	wr, wf, err2 := env.ms.ResolveBlocks(env.ctx, want, indexes)
	if err1 != nil || err2 != nil || !slices.Equal(gr, wr) || !slices.Equal(gf, wf) {
		tb.Errorf("%s: ResolveBlocks(%v) = %v %v, %v; want ResolveBlocks(%v) = %v %v, %v",
			step, chain, gr, gf, err1, want, wr, wf, err2)
	}
}

// testMetaPurgeDeleted purges tombstones that nothing needs, children
// first as the collector does, and checks that they are gone, mappings
// and lineage index included, and that nothing else changed: the other
// snapshots' records, blocks and views, ListSnapshots and the pending
// count. Purging again, or an ID that never existed, does nothing.
func testMetaPurgeDeleted(t *testing.T, env *metaEnv) {
	l := newMetaTree(t, env)
	// Tombstones: a leaf, and a subtree of two, siblings of survivors at
	// every depth.
	p := l.add(t, 11, "", store.StateCompleted, 0, 1, 2, 3)
	c1 := l.add(t, 12, p, store.StateCompleted, 1, 4)
	g := l.add(t, 13, c1, store.StateCompleted, 2, 6)
	c2 := l.add(t, 14, p, store.StateCompleted, 1, 5)
	h := l.add(t, 15, c2, store.StateCompleted, 9)
	leaf := l.add(t, 16, c2, store.StatePending, 2, 7)
	q := l.add(t, 17, "", store.StatePending, 8)
	purged := []string{leaf, g, c1}
	for _, id := range purged {
		metaDelete(t, env, id)
	}
	var kept []string
	for _, id := range l.ids {
		if !slices.Contains(purged, id) {
			kept = append(kept, id)
		}
	}
	survivors := l.only(kept...)
	before := metaReadLineage(t, env, survivors)
	recs := map[string]store.Snapshot{}
	for _, id := range kept {
		recs[id] = metaGet(t, env, id)
	}
	listed := metaListIDs(t, env, metaOwner)
	pending := metaScanIDs(t, env, store.StatePending) // q and the tree's
	probe := metaRoot(metaID(30), store.StatePending)
	metaWantLimit(t, env, "before purging", probe, len(pending))

	tomb := metaGet(t, env, c1)
	for _, id := range purged {
		metaPurge(t, env, id)
	}
	for _, id := range purged {
		metaWantGone(t, env, id)
	}
	metaCheckReads(t, "after purging", survivors, metaReadLineage(t, env, survivors), before)
	for _, id := range kept {
		metaCheckSnapshot(t, "GetSnapshot after purging others", metaGet(t, env, id), recs[id])
	}
	if got := metaListIDs(t, env, metaOwner); !slices.Equal(got, listed) {
		t.Errorf("ListSnapshots after purging = %v, want %v", got, listed)
	}
	if got := metaScanIDs(t, env, store.StatePending); !slices.Equal(got, pending) || !slices.Contains(got, q) {
		t.Errorf("ScanSnapshots(pending) after purging = %v, want %v", got, pending)
	}
	metaWantLimit(t, env, "after purging", probe, len(pending))
	metaResolveSame(t, env, "a sibling's chain naming the purged", []string{c2, c1, p}, []string{c2, p})
	metaResolveSame(t, env, "a nephew's chain naming the purged", []string{h, g, leaf, c1, c2, p}, []string{h, c2, p})
	metaWantNoSource(t, env, "child of a purged snapshot", metaChild(metaID(31), tomb, store.StatePending))

	for _, id := range append(purged, metaID(99)) {
		metaPurge(t, env, id)
	}
	metaCheckReads(t, "after purging again", survivors, metaReadLineage(t, env, survivors), before)
	metaCheckIndexes(t, env, 40, metaOwner)
}

// testMetaPurgeError purges a failed snapshot: its record stays, listed
// and scanned, without its mappings or LastActivity; its parent's and
// sibling's reads do not change. Purging it again does nothing; once
// deleted, it purges away.
func testMetaPurgeError(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	p := l.add(t, 1, "", store.StateCompleted, 0, 1)
	e := l.add(t, 2, p, store.StatePending, 1, 2)
	s := l.add(t, 3, p, store.StateCompleted, 3)
	metaSetState(t, env, e, store.StateError)
	survivors := l.only(p, s)
	before := metaReadLineage(t, env, survivors)
	want := metaGet(t, env, e)
	if want.LastActivity.IsZero() {
		t.Fatalf("the failed snapshot has no LastActivity before the purge")
	}
	want.LastActivity = time.Time{}
	listed := metaListIDs(t, env, metaOwner)

	for range 2 {
		metaPurge(t, env, e)
		metaCheckSnapshot(t, "GetSnapshot of a purged failed snapshot", metaGet(t, env, e), want)
		if got := metaOwn(t, env, e, 0); len(got) != 0 {
			t.Errorf("OwnBlocks(purged failed %s) = %v, want none", e, got)
		}
		if got, err := env.ms.WrittenIndexes(env.ctx, []string{e}, 0, 100); err != nil || len(got) != 0 {
			t.Errorf("WrittenIndexes(purged failed %s) = %v, %v; want none", e, got, err)
		}
		metaResolveSame(t, env, "the purged failed snapshot's chain", []string{e, p}, []string{p})
		metaResolveSame(t, env, "a sibling's chain naming the purged failed snapshot", []string{s, e, p}, []string{s, p})
		metaCheckReads(t, "after purging a failed snapshot", survivors, metaReadLineage(t, env, survivors), before)
		if got := metaListIDs(t, env, metaOwner); !slices.Equal(got, listed) {
			t.Errorf("ListSnapshots after purging a failed snapshot = %v, want %v", got, listed)
		}
		if got := metaScanIDs(t, env, store.StateError); !slices.Equal(got, []string{e}) {
			t.Errorf("ScanSnapshots(error) after purging = %v, want [%s]", got, e)
		}
	}
	metaDelete(t, env, e)
	metaPurge(t, env, e)
	metaWantGone(t, env, e)
	metaCheckReads(t, "after purging the deleted failed snapshot", survivors, metaReadLineage(t, env, survivors), before)
}

// testMetaPurgeRefused checks that PurgeSnapshot refuses a snapshot that
// may be read, pending, completing, completed or copying, with
// ErrNotWritable, and removes nothing.
func testMetaPurgeRefused(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	root := l.add(t, 1, "", store.StateCompleted, 0, 1)
	ids := []string{
		root,
		l.add(t, 2, root, store.StatePending, 1, 2),
		l.add(t, 3, root, store.StateCompleting, 2, 3),
		l.add(t, 4, "", store.StateCopying, 4),
	}
	before := metaReadLineage(t, env, l)
	recs := metaAllRecords(t, env)
	for _, id := range ids {
		err := metaCollector(t, env).PurgeSnapshot(env.ctx, id)
		if !errors.Is(err, store.ErrNotWritable) {
			t.Errorf("PurgeSnapshot(%s %s): error = %v, want ErrNotWritable", recs[id].State, id, err)
		}
	}
	for _, id := range ids {
		metaCheckSnapshot(t, "GetSnapshot after a refused purge", metaGet(t, env, id), recs[id])
	}
	metaCheckReads(t, "after refused purges", l, metaReadLineage(t, env, l), before)
	metaCheckIndexes(t, env, 10, metaOwner)
}

// testMetaPurgeLarge purges a tombstone with more mappings than a backend
// would remove in one batch (pebblemeta: 1024), beside an unrelated
// snapshot that must keep its own.
func testMetaPurgeLarge(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	big := l.add(t, 1, "", store.StatePending)
	var indexes []int32
	for i := range int32(2600) {
		indexes = append(indexes, i)
	}
	l.writeMany(t, big, indexes...)
	metaSetState(t, env, big, store.StateCompleted)
	sib := l.add(t, 2, big, store.StateCompleted, 5, 3000)
	other := l.add(t, 3, "", store.StateCompleted, 1, 2, 2999)
	metaDelete(t, env, sib)
	metaDelete(t, env, big)
	survivors := l.only(other)
	before := metaReadLineage(t, env, survivors)

	metaPurge(t, env, sib)
	metaPurge(t, env, big)
	metaWantGone(t, env, sib)
	metaWantGone(t, env, big)
	if got, err := env.ms.WrittenIndexes(env.ctx, []string{big}, 0, 10000); err != nil || len(got) != 0 {
		t.Errorf("WrittenIndexes(purged %s) = %d indexes, %v; want none", big, len(got), err)
	}
	metaCheckReads(t, "after purging a large snapshot", survivors, metaReadLineage(t, env, survivors), before)
}

// testMetaPurgeReopen checks that purges survive reopening.
func testMetaPurgeReopen(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	p := l.add(t, 1, "", store.StateCompleted, 0, 1)
	d := l.add(t, 2, p, store.StateCompleted, 1, 2)
	e := l.add(t, 3, p, store.StateError, 3)
	s := l.add(t, 4, p, store.StateCompleted, 4)
	metaDelete(t, env, d)
	metaPurge(t, env, d)
	metaPurge(t, env, e)
	survivors := l.only(p, s)
	before := metaReadLineage(t, env, survivors)
	want := metaGet(t, env, e)

	env.reopen(t)

	metaWantGone(t, env, d)
	metaCheckSnapshot(t, "GetSnapshot of a purged failed snapshot after reopening", metaGet(t, env, e), want)
	if got := metaOwn(t, env, e, 0); len(got) != 0 {
		t.Errorf("OwnBlocks(purged failed %s) after reopening = %v, want none", e, got)
	}
	metaResolveSame(t, env, "after reopening", []string{s, e, d, p}, []string{s, p})
	metaCheckReads(t, "after reopening", survivors, metaReadLineage(t, env, survivors), before)
	metaCheckIndexes(t, env, 10, metaOwner)
}

// testMetaPurgeRacesUpdate races PurgeSnapshot with an UpdateSnapshot that
// keeps a tombstone deleted (a tag change). They must be atomic with
// respect to each other: the update either lands before the purge, which
// then removes it, or finds no snapshot; it never stores the record again
// after the purge removed it.
func testMetaPurgeRacesUpdate(t *testing.T, env *metaEnv) {
	mc := metaCollector(t, env)
	for round := range 100 {
		s := metaRoot(metaID(round), store.StateCompleted)
		metaCreate(t, env, s)
		metaDelete(t, env, s.ID)
		var wg sync.WaitGroup
		wg.Go(func() {
			_, err := env.ms.UpdateSnapshot(env.ctx, s.ID, func(r *store.Snapshot) error {
				r.Description = "updated while purged"
				return nil
			})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UpdateSnapshot racing PurgeSnapshot: %v", err)
			}
		})
		wg.Go(func() {
			if err := mc.PurgeSnapshot(env.ctx, s.ID); err != nil {
				t.Errorf("PurgeSnapshot racing UpdateSnapshot: %v", err)
			}
		})
		wg.Wait()
		if got, err := env.ms.GetSnapshot(env.ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("round %d: GetSnapshot after PurgeSnapshot raced UpdateSnapshot = %+v, %v; want ErrNotFound", round, got, err)
		}
	}
	if got := metaScanIDs(t, env, store.StateDeleted); len(got) != 0 {
		t.Errorf("ScanSnapshots(deleted) after the races = %v, want none", got)
	}
}

// testMetaScanRacesPurge scans the deleted snapshots while they are being
// purged: a record purged between the scan's index and its read is
// skipped, never an error (the garbage collector's and the timeout
// sweeper's scans run beside purges).
func testMetaScanRacesPurge(t *testing.T, env *metaEnv) {
	mc := metaCollector(t, env)
	const n = 200
	for i := range n {
		s := metaRoot(metaID(i), store.StateCompleted)
		metaCreate(t, env, s)
		metaDelete(t, env, s.ID)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := mc.PurgeSnapshot(env.ctx, metaID(i)); err != nil {
				t.Errorf("PurgeSnapshot: %v", err)
			}
		}
	})
	for scans := 0; ; scans++ {
		seen := 0
		err := env.ms.ScanSnapshots(env.ctx, func(store.Snapshot) (bool, error) {
			seen++
			return true, nil
		}, store.StateDeleted)
		if err != nil {
			t.Fatalf("ScanSnapshots(deleted) racing PurgeSnapshot, scan %d: %v", scans, err)
		}
		if seen == 0 {
			break
		}
	}
	wg.Wait()
}
