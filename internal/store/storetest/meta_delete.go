package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about deleted snapshots (UpdateSnapshot to StateDeleted, a
// tombstone) and copying ones (StateCopying).

// metaDeleteTime is the DeleteTime metaDelete sets.
var metaDeleteTime = time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)

// metaDelete deletes snapshot id as DeleteSnapshot does and returns the
// tombstone UpdateSnapshot returned.
func metaDelete(tb testing.TB, env *metaEnv, id string) store.Snapshot {
	tb.Helper()
	s, err := env.ms.UpdateSnapshot(env.ctx, id, func(s *store.Snapshot) error {
		s.State, s.DeleteTime = store.StateDeleted, metaDeleteTime
		return nil
	})
	if err != nil {
		tb.Fatalf("UpdateSnapshot(%s) to deleted: %v", id, err)
	}
	return s
}

// metaReads is everything a store answers about the blocks of a lineage:
// each snapshot's own blocks and view, and the resolution of indexes 0 to
// 9 through its chain.
type metaReads struct {
	own, view map[string][]store.IndexedRef
	resolve   map[string][]store.BlockRef
	found     map[string][]bool
	written   []int32 // WrittenIndexes of all of them
}

func metaReadLineage(tb testing.TB, env *metaEnv, l *metaLineage) metaReads {
	tb.Helper()
	r := metaReads{own: map[string][]store.IndexedRef{}, view: map[string][]store.IndexedRef{},
		resolve: map[string][]store.BlockRef{}, found: map[string][]bool{}}
	indexes := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, id := range l.ids {
		r.own[id] = metaOwn(tb, env, id, 0)
		var err error
		if r.view[id], err = env.ms.ViewBlocks(env.ctx, l.chain(id), 0, 100); err != nil {
			tb.Fatalf("ViewBlocks(%v): %v", l.chain(id), err)
		}
		if r.resolve[id], r.found[id], err = env.ms.ResolveBlocks(env.ctx, l.chain(id), indexes); err != nil {
			tb.Fatalf("ResolveBlocks(%v): %v", l.chain(id), err)
		}
	}
	var err error
	if r.written, err = env.ms.WrittenIndexes(env.ctx, l.ids, 0, 100); err != nil {
		tb.Fatalf("WrittenIndexes: %v", err)
	}
	return r
}

// metaCheckReads fails tb unless got equals want and the model's views.
func metaCheckReads(tb testing.TB, step string, l *metaLineage, got, want metaReads) {
	tb.Helper()
	for _, id := range l.ids {
		if !slices.Equal(got.own[id], want.own[id]) {
			tb.Errorf("%s: OwnBlocks(%s) = %v, want %v", step, id, got.own[id], want.own[id])
		}
		if !slices.Equal(got.view[id], want.view[id]) || !slices.Equal(got.view[id], l.view(id)) {
			tb.Errorf("%s: ViewBlocks(%v) = %v, want %v", step, l.chain(id), got.view[id], want.view[id])
		}
		if !slices.Equal(got.resolve[id], want.resolve[id]) || !slices.Equal(got.found[id], want.found[id]) {
			tb.Errorf("%s: ResolveBlocks(%v) = %v %v, want %v %v", step, l.chain(id),
				got.resolve[id], got.found[id], want.resolve[id], want.found[id])
		}
	}
	if !slices.Equal(got.written, want.written) {
		tb.Errorf("%s: WrittenIndexes = %v, want %v", step, got.written, want.written)
	}
}

// metaListIDs returns the IDs ListSnapshots gives for owner, in one call.
func metaListIDs(tb testing.TB, env *metaEnv, owner string) []string {
	tb.Helper()
	page, err := env.ms.ListSnapshots(env.ctx, owner, "", 1<<20)
	if err != nil {
		tb.Fatalf("ListSnapshots(%s): %v", owner, err)
	}
	var ids []string
	for _, s := range page {
		ids = append(ids, s.ID)
	}
	return ids
}

// testMetaDeleteTombstone checks what deleting a snapshot changes: it
// leaves ListSnapshots and the scans of its old state and refuses writes,
// and nothing else. GetSnapshot still returns it, and every read of blocks
// through it, its own included, answers as before.
func testMetaDeleteTombstone(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	p := l.add(t, 1, "", store.StateCompleted, 0, 1, 2, 3)
	c := l.add(t, 2, p, store.StateCompleted, 1, 4)
	g := l.add(t, 3, c, store.StatePending, 2, 5)
	other := l.add(t, 4, "", store.StateCompleted, 1, 6)
	before := metaReadLineage(t, env, l)
	want := metaGet(t, env, p)
	want.State, want.DeleteTime = store.StateDeleted, metaDeleteTime

	metaCheckSnapshot(t, "UpdateSnapshot to deleted", metaDelete(t, env, p), want)
	metaCheckSnapshot(t, "GetSnapshot of a tombstone", metaGet(t, env, p), want)
	if got, w := metaListIDs(t, env, metaOwner), []string{c, g, other}; !slices.Equal(got, w) {
		t.Errorf("ListSnapshots after deleting %s = %v, want %v", p, got, w)
	}
	if got, w := metaScanIDs(t, env, store.StateDeleted), []string{p}; !slices.Equal(got, w) {
		t.Errorf("ScanSnapshots(deleted) = %v, want %v", got, w)
	}
	if got, w := metaScanIDs(t, env, store.StateCompleted), []string{c, other}; !slices.Equal(got, w) {
		t.Errorf("ScanSnapshots(completed) = %v, want %v", got, w)
	}
	metaCheckReads(t, "after deleting the root", l, metaReadLineage(t, env, l), before)

	// A child deleted too: the grandchild still reads through both.
	metaDelete(t, env, c)
	metaCheckReads(t, "after deleting the child too", l, metaReadLineage(t, env, l), before)
	if got, w := metaListIDs(t, env, metaOwner), []string{g, other}; !slices.Equal(got, w) {
		t.Errorf("ListSnapshots after deleting %s = %v, want %v", c, got, w)
	}
	if got, w := metaScanIDs(t, env, store.StateDeleted), []string{p, c}; !slices.Equal(got, w) {
		t.Errorf("ScanSnapshots(deleted) = %v, want %v", got, w)
	}

	// A deleted pending snapshot takes no more writes, and keeps the ones
	// it had.
	metaDelete(t, env, g)
	for _, id := range []string{p, c, g} {
		if err := env.ms.PutBlock(env.ctx, id, 9, metaRef("refused", 9), time.Now()); !errors.Is(err, store.ErrNotWritable) {
			t.Errorf("PutBlock(deleted %s) error = %v, want ErrNotWritable", id, err)
		}
	}
	metaCheckReads(t, "after deleting the grandchild and refused writes", l, metaReadLineage(t, env, l), before)
	if got := metaScanIDs(t, env, store.StatePending); len(got) != 0 {
		t.Errorf("ScanSnapshots(pending) = %v after deleting the only pending snapshot, want none", got)
	}
}

// testMetaDeletePendingCount checks that a pending (or copying) snapshot
// leaves its owner's pending count when it is deleted, so that a create at
// the limit succeeds afterwards, and that deleting a completed one does
// not change the count.
func testMetaDeletePendingCount(t *testing.T, env *metaEnv) {
	const limit = 2
	a, b := metaRoot(metaID(1), store.StatePending), metaRoot(metaID(2), store.StateCopying)
	done := metaRoot(metaID(3), store.StateCompleted)
	metaWantCreated(t, env, "pending", a, limit)
	metaWantCreated(t, env, "copying", b, limit)
	metaWantCreated(t, env, "completed", done, limit)
	metaWantLimit(t, env, "at the limit", metaRoot(metaID(4), store.StatePending), limit)
	metaDelete(t, env, done.ID)
	metaWantLimit(t, env, "after deleting a completed snapshot", metaRoot(metaID(5), store.StatePending), limit)
	metaDelete(t, env, a.ID)
	metaWantCreated(t, env, "after deleting a pending snapshot", metaRoot(metaID(6), store.StatePending), limit)
	metaWantLimit(t, env, "full again", metaRoot(metaID(7), store.StatePending), limit)
	metaDelete(t, env, b.ID)
	metaWantCreated(t, env, "after deleting a copying snapshot", metaRoot(metaID(8), store.StateCopying), limit)
	metaWantLimit(t, env, "full again", metaRoot(metaID(9), store.StateCopying), limit)
}

// testMetaCopying checks that a copying snapshot takes writes like a
// pending one, counts against the pending limit, and stops taking writes
// when it leaves StateCopying.
func testMetaCopying(t *testing.T, env *metaEnv) {
	const limit = 2
	created := metaRoot(metaID(1), store.StateCopying)
	moved := metaRoot(metaID(2), store.StatePending)
	metaWantCreated(t, env, "copying", created, limit)
	metaWantCreated(t, env, "pending", moved, limit)
	metaSetState(t, env, moved.ID, store.StateCopying)
	for _, id := range []string{created.ID, moved.ID} {
		metaPut(t, env, id, 3, 1)
		if got, want := metaOwn(t, env, id, 0), metaOwnOf(id, 1, 3); !slices.Equal(got, want) {
			t.Errorf("OwnBlocks(copying %s) = %v, want %v", id, got, want)
		}
	}
	metaWantLimit(t, env, "two copying", metaRoot(metaID(3), store.StatePending), limit)
	if got, want := metaScanIDs(t, env, store.StateCopying), []string{created.ID, moved.ID}; !slices.Equal(got, want) {
		t.Errorf("ScanSnapshots(copying) = %v, want %v", got, want)
	}

	metaSetState(t, env, created.ID, store.StateCompleted)
	if err := env.ms.PutBlock(env.ctx, created.ID, 5, metaRef("refused", 5), time.Now()); !errors.Is(err, store.ErrNotWritable) {
		t.Errorf("PutBlock(copy completed) error = %v, want ErrNotWritable", err)
	}
	metaWantCreated(t, env, "after a copy completed", metaRoot(metaID(4), store.StatePending), limit)
}

// testMetaDeleteReopen checks that tombstones, copying snapshots and what
// they changed in the indexes survive reopening.
func testMetaDeleteReopen(t *testing.T, env *metaEnv) {
	const limit = 2
	l := newMetaLineage(env)
	p := l.add(t, 1, "", store.StateCompleted, 0, 1, 2)
	c := l.add(t, 2, p, store.StatePending, 1, 3)
	d := l.add(t, 3, "", store.StatePending, 4)
	cp := l.add(t, 4, "", store.StateCopying, 5)
	metaDelete(t, env, p)
	metaDelete(t, env, d)
	want := map[string]store.Snapshot{}
	for _, id := range l.ids {
		want[id] = metaGet(t, env, id)
	}
	before := metaReadLineage(t, env, l)

	env.reopen(t)

	for _, id := range l.ids {
		metaCheckSnapshot(t, "GetSnapshot after reopening", metaGet(t, env, id), want[id])
	}
	metaCheckReads(t, "after reopening", l, metaReadLineage(t, env, l), before)
	if got, w := metaListIDs(t, env, metaOwner), []string{c, cp}; !slices.Equal(got, w) {
		t.Errorf("ListSnapshots after reopening = %v, want %v", got, w)
	}
	if got, w := metaScanIDs(t, env, store.StateDeleted), []string{p, d}; !slices.Equal(got, w) {
		t.Errorf("ScanSnapshots(deleted) after reopening = %v, want %v", got, w)
	}
	if got, w := metaScanIDs(t, env, store.StateCopying), []string{cp}; !slices.Equal(got, w) {
		t.Errorf("ScanSnapshots(copying) after reopening = %v, want %v", got, w)
	}
	// c and cp are pending; d no longer counts.
	metaWantLimit(t, env, "after reopening", metaRoot(metaID(5), store.StatePending), limit)
	metaWantCreated(t, env, "after reopening", metaRoot(metaID(6), store.StatePending), limit+1)
	l.write(t, cp, 6)
	if err := env.ms.PutBlock(env.ctx, d, 7, metaRef("refused", 7), time.Now()); !errors.Is(err, store.ErrNotWritable) {
		t.Errorf("PutBlock(deleted) after reopening: error = %v, want ErrNotWritable", err)
	}
	tomb := metaGet(t, env, p)
	metaWantNoSource(t, env, "child of a deleted parent after reopening", metaChild(metaID(7), tomb, store.StatePending))
	metaWantNoSource(t, env, "copy of a deleted source after reopening", metaWithSource(metaID(8), tomb, "copy source", store.StateCompleted))
}

// testMetaDeletedIsTerminal checks that UpdateSnapshot refuses to move a
// tombstone to any other state with ErrNotWritable, storing nothing: not
// the record, nor its place in ListSnapshots, the scans or the pending
// count. An update that keeps it deleted is stored.
func testMetaDeletedIsTerminal(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	done := l.add(t, 1, "", store.StateCompleted, 0, 1)
	pend := l.add(t, 2, "", store.StatePending, 2)
	live := l.add(t, 3, "", store.StateCompleted, 3)
	metaDelete(t, env, done)
	metaDelete(t, env, pend)
	before := metaReadLineage(t, env, l)
	states := []store.State{store.StatePending, store.StateCompleting, store.StateCompleted, store.StateError, store.StateCopying}
	for _, id := range []string{done, pend} {
		want := metaGet(t, env, id)
		for _, st := range states {
			_, err := env.ms.UpdateSnapshot(env.ctx, id, func(s *store.Snapshot) error {
				s.State, s.Description = st, "resurrected"
				return nil
			})
			if !errors.Is(err, store.ErrNotWritable) {
				t.Errorf("UpdateSnapshot(deleted %s) to %s: error = %v, want ErrNotWritable", id, st, err)
			}
			metaCheckSnapshot(t, "GetSnapshot after a refused resurrection", metaGet(t, env, id), want)
		}
		if err := env.ms.PutBlock(env.ctx, id, 9, metaRef("refused", 9), time.Now()); !errors.Is(err, store.ErrNotWritable) {
			t.Errorf("PutBlock(deleted %s) after refused resurrections: error = %v, want ErrNotWritable", id, err)
		}
	}
	if got, w := metaListIDs(t, env, metaOwner), []string{live}; !slices.Equal(got, w) {
		t.Errorf("ListSnapshots after refused resurrections = %v, want %v", got, w)
	}
	if got, w := metaScanIDs(t, env, store.StateDeleted), []string{done, pend}; !slices.Equal(got, w) {
		t.Errorf("ScanSnapshots(deleted) after refused resurrections = %v, want %v", got, w)
	}
	for _, st := range states {
		if got := metaScanIDs(t, env, st); len(got) > 0 && !slices.Equal(got, []string{live}) {
			t.Errorf("ScanSnapshots(%s) after refused resurrections = %v", st, got)
		}
	}
	metaCheckReads(t, "after refused resurrections", l, metaReadLineage(t, env, l), before)
	metaCheckIndexes(t, env, 10, metaOwner)
	metaWantCreated(t, env, "no pending snapshot after refused resurrections", metaRoot(metaID(20), store.StatePending), 1)

	// An update that keeps the tombstone deleted is stored.
	got, err := env.ms.UpdateSnapshot(env.ctx, done, func(s *store.Snapshot) error {
		s.Description = "still deleted"
		return nil
	})
	if err != nil || got.State != store.StateDeleted || metaGet(t, env, done).Description != "still deleted" {
		t.Errorf("UpdateSnapshot(deleted %s) keeping it deleted = %+v, %v", done, got, err)
	}
}
