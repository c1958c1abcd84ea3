package storetest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about MetaCollector.MarkView: a view of records and mappings of
// one instant.

// metaCollector returns the store as a store.MetaCollector, failing tb
// when it is not one: the garbage collector needs every backend to be.
func metaCollector(tb testing.TB, env *metaEnv) store.MetaCollector {
	tb.Helper()
	mc, ok := env.ms.(store.MetaCollector)
	if !ok {
		tb.Fatalf("%T does not implement store.MetaCollector", env.ms)
	}
	return mc
}

// metaMarkView opens a MarkView; the test closes it if it does not.
func metaMarkView(tb testing.TB, env *metaEnv) store.MarkView {
	tb.Helper()
	v, err := metaCollector(tb, env).MarkView(env.ctx)
	if err != nil {
		tb.Fatalf("MarkView: %v", err)
	}
	tb.Cleanup(func() { _ = v.Close() })
	return v
}

// metaViewRecords returns every record of v, by ID.
func metaViewRecords(tb testing.TB, env *metaEnv, v store.MarkView) map[string]store.Snapshot {
	tb.Helper()
	recs := map[string]store.Snapshot{}
	err := v.Snapshots(env.ctx, func(s store.Snapshot) (bool, error) {
		if _, dup := recs[s.ID]; dup {
			tb.Errorf("MarkView.Snapshots gave %s twice", s.ID)
		}
		recs[s.ID] = s
		return true, nil
	})
	if err != nil {
		tb.Fatalf("MarkView.Snapshots: %v", err)
	}
	return recs
}

// metaViewOwn returns the own blocks of snapshot id in v from start.
func metaViewOwn(tb testing.TB, env *metaEnv, v store.MarkView, id string, start int32) []store.IndexedRef {
	tb.Helper()
	var got []store.IndexedRef
	err := v.OwnBlocks(env.ctx, id, start, func(r store.IndexedRef) (bool, error) {
		got = append(got, r)
		return true, nil
	})
	if err != nil {
		tb.Fatalf("MarkView.OwnBlocks(%s, %d): %v", id, start, err)
	}
	return got
}

// metaAllRecords returns every record of the store, by ID.
func metaAllRecords(tb testing.TB, env *metaEnv) map[string]store.Snapshot {
	tb.Helper()
	recs := map[string]store.Snapshot{}
	err := env.ms.ScanSnapshots(env.ctx, func(s store.Snapshot) (bool, error) {
		recs[s.ID] = s
		return true, nil
	})
	if err != nil {
		tb.Fatalf("ScanSnapshots: %v", err)
	}
	return recs
}

// metaCheckView fails tb unless v holds exactly the records want and, for
// each, the own blocks own has for it.
func metaCheckView(tb testing.TB, env *metaEnv, step string, v store.MarkView,
	want map[string]store.Snapshot, own map[string][]store.IndexedRef) {
	tb.Helper()
	got := metaViewRecords(tb, env, v)
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		tb.Errorf("%s: MarkView.Snapshots = %v, want %v", step, g, w)
	}
	for id, w := range want {
		if g, ok := got[id]; ok {
			metaCheckSnapshot(tb, step+": MarkView.Snapshots", g, w)
		}
	}
	for id, w := range own {
		if g := metaViewOwn(tb, env, v, id, 0); !slices.Equal(g, w) {
			tb.Errorf("%s: MarkView.OwnBlocks(%s) = %v, want %v", step, id, g, w)
		}
	}
}

// testMetaMarkViewIsSnapshot checks that a MarkView holds every record
// and mapping stored before it was taken, tombstones and failed snapshots
// included, and none of what changed afterwards: creates, writes (new
// indexes, overwrites, LastActivity), state changes, deletes and purges;
// that a view taken afterwards holds those; and that a closed view answers
// ErrClosed.
func testMetaMarkViewIsSnapshot(t *testing.T, env *metaEnv) {
	mc := metaCollector(t, env)
	l := newMetaLineage(env)
	p := l.add(t, 1, "", store.StateCompleted, 0, 1, 2)
	c := l.add(t, 2, p, store.StatePending, 1, 3)
	d := l.add(t, 3, "", store.StateCompleted, 4)
	x := l.add(t, 4, "", store.StateCompleted, 5)
	metaDelete(t, env, x)
	e := l.add(t, 5, "", store.StateError, 6)
	snapshot := func() (map[string]store.Snapshot, map[string][]store.IndexedRef) {
		own := map[string][]store.IndexedRef{}
		for _, id := range append(slices.Clone(l.ids), metaID(6)) {
			own[id] = metaOwn(t, env, id, 0)
		}
		return metaAllRecords(t, env), own
	}
	recs, own := snapshot()
	v := metaMarkView(t, env)

	n := l.add(t, 6, p, store.StatePending, 7)
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, i := range []int32{1, 5} { // an overwrite and a new index
		if err := env.ms.PutBlock(env.ctx, c, i, metaRef("after the view", i), at); err != nil {
			t.Fatalf("PutBlock(%s, %d): %v", c, i, err)
		}
	}
	metaSetState(t, env, c, store.StateCompleted)
	metaDelete(t, env, d)
	for _, id := range []string{x, e} {
		if err := mc.PurgeSnapshot(env.ctx, id); err != nil {
			t.Fatalf("PurgeSnapshot(%s): %v", id, err)
		}
	}
	if _, err := env.ms.GetSnapshot(env.ctx, x); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSnapshot(%s) after PurgeSnapshot: error = %v, want ErrNotFound", x, err)
	}

	metaCheckView(t, env, "after changes behind the view", v, recs, own)
	// Partial reads of the view.
	if got, want := metaViewOwn(t, env, v, c, 2), metaOwnOf(c, 3); !slices.Equal(got, want) {
		t.Errorf("MarkView.OwnBlocks(%s, 2) = %v, want %v", c, got, want)
	}
	var first []store.IndexedRef
	err := v.OwnBlocks(env.ctx, p, 0, func(r store.IndexedRef) (bool, error) {
		first = append(first, r)
		return false, nil
	})
	if want := metaOwnOf(p, 0); err != nil || !slices.Equal(first, want) {
		t.Errorf("MarkView.OwnBlocks(%s) stopped after one = %v, %v; want %v", p, first, err, want)
	}
	calls := 0
	if err := v.Snapshots(env.ctx, func(store.Snapshot) (bool, error) { calls++; return false, nil }); err != nil || calls != 1 {
		t.Errorf("MarkView.Snapshots stopped after one: %d calls, %v", calls, err)
	}
	stop := errors.New("stop")
	if err := v.Snapshots(env.ctx, func(store.Snapshot) (bool, error) { return true, stop }); !errors.Is(err, stop) {
		t.Errorf("MarkView.Snapshots with a failing fn: error = %v, want fn's", err)
	}

	// A view taken now holds all of it.
	recs, own = snapshot()
	if _, ok := own[n]; !ok || len(own[n]) == 0 {
		t.Fatalf("the snapshot created after the first view has no blocks")
	}
	v2 := metaMarkView(t, env)
	metaCheckView(t, env, "a view taken after the changes", v2, recs, own)
	if err := v2.Close(); err != nil {
		t.Fatalf("MarkView.Close: %v", err)
	}

	if err := v.Close(); err != nil {
		t.Fatalf("MarkView.Close: %v", err)
	}
	if err := v.Snapshots(env.ctx, func(store.Snapshot) (bool, error) { return true, nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("MarkView.Snapshots after Close: error = %v, want ErrClosed", err)
	}
	if err := v.OwnBlocks(env.ctx, p, 0, func(store.IndexedRef) (bool, error) { return true, nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("MarkView.OwnBlocks after Close: error = %v, want ErrClosed", err)
	}
	if err := v.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("MarkView.Close after Close: error = %v, want ErrClosed", err)
	}
}

// metaWriterModel is what one writer of testMetaMarkViewConcurrent has
// stored: its snapshots' states and own blocks.
type metaWriterModel struct {
	state  map[string]store.State
	blocks map[string]map[int32]store.BlockRef
}

// digest describes the model in one string, equal for equal models.
func (m *metaWriterModel) digest() string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(m.state)) {
		fmt.Fprintf(&b, "%s %s:", id, m.state[id])
		for _, i := range slices.Sorted(maps.Keys(m.blocks[id])) {
			key := m.blocks[id][i].Key
			fmt.Fprintf(&b, " %d=%x", i, key[:4])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// metaViewDigests returns, per owner, the digest of what v holds of the
// owner's snapshots, reading the records twice: a view does not change
// while it is read.
func metaViewDigests(tb testing.TB, env *metaEnv, v store.MarkView) map[string]string {
	tb.Helper()
	recs := metaViewRecords(tb, env, v)
	models := map[string]*metaWriterModel{}
	for id, r := range recs {
		m := models[r.OwnerID]
		if m == nil {
			m = &metaWriterModel{state: map[string]store.State{}, blocks: map[string]map[int32]store.BlockRef{}}
			models[r.OwnerID] = m
		}
		m.state[id] = r.State
		m.blocks[id] = map[int32]store.BlockRef{}
		for _, ref := range metaViewOwn(tb, env, v, id, 0) {
			m.blocks[id][ref.Index] = ref.Ref
		}
	}
	again := metaViewRecords(tb, env, v)
	if g, w := slices.Sorted(maps.Keys(again)), slices.Sorted(maps.Keys(recs)); !slices.Equal(g, w) {
		tb.Errorf("MarkView.Snapshots read again = %v, first %v", g, w)
	}
	for id, r := range again {
		if w, ok := recs[id]; ok {
			metaCheckSnapshot(tb, "MarkView.Snapshots read again", r, w)
		}
	}
	out := map[string]string{}
	for owner, m := range models {
		out[owner] = m.digest()
	}
	return out
}

// testMetaMarkViewConcurrent takes and reads views while writers create
// snapshots, write, overwrite, complete, delete and purge them. Each
// writer works on its own owner's snapshots and records the state of
// what it stored after each of its steps; every view must hold, for each
// writer, one of those states (a view of one instant cannot mix records of
// one step with blocks of another), and reading a view twice gives the
// same. A view taken at the end holds every writer's final state.
func testMetaMarkViewConcurrent(t *testing.T, env *metaEnv) {
	const (
		writers = 3
		steps   = 60
	)
	mc := metaCollector(t, env)
	histories := make([]map[string]bool, writers)
	finals := make([]string, writers)
	var done sync.WaitGroup
	for w := range writers {
		owner := fmt.Sprintf("%012d", w+1)
		histories[w] = map[string]bool{"": true}
		done.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 77))
			m := &metaWriterModel{state: map[string]store.State{}, blocks: map[string]map[int32]store.BlockRef{}}
			in := func(st store.State) []string {
				var ids []string
				for _, id := range slices.Sorted(maps.Keys(m.state)) {
					if m.state[id] == st {
						ids = append(ids, id)
					}
				}
				return ids
			}
			next := 0
			for step := range steps {
				pending, completed, deleted := in(store.StatePending), in(store.StateCompleted), in(store.StateDeleted)
				var err error
				switch k := rng.IntN(10); {
				case len(pending) == 0 || k == 0: // create
					s := metaRoot(metaID(1000*(w+1)+next), store.StatePending)
					next++
					s.OwnerID = owner
					if err = env.ms.CreateSnapshot(env.ctx, s, nil, 0); err == nil {
						m.state[s.ID], m.blocks[s.ID] = s.State, map[int32]store.BlockRef{}
					}
				case k <= 5: // write or overwrite
					id := pending[rng.IntN(len(pending))]
					index, ref := rng.Int32N(8), metaRef(fmt.Sprintf("w%d step %d", w, step), 0)
					if err = env.ms.PutBlock(env.ctx, id, index, ref, time.Now()); err == nil {
						m.blocks[id][index] = ref
					}
				case k == 6: // complete
					id := pending[rng.IntN(len(pending))]
					if _, err = env.ms.UpdateSnapshot(env.ctx, id, func(s *store.Snapshot) error {
						s.State = store.StateCompleted
						return nil
					}); err == nil {
						m.state[id] = store.StateCompleted
					}
				case k <= 8: // delete
					ids := append(pending, completed...)
					id := ids[rng.IntN(len(ids))]
					if _, err = env.ms.UpdateSnapshot(env.ctx, id, func(s *store.Snapshot) error {
						s.State = store.StateDeleted
						return nil
					}); err == nil {
						m.state[id] = store.StateDeleted
					}
				case len(deleted) > 0: // purge
					id := deleted[rng.IntN(len(deleted))]
					if err = mc.PurgeSnapshot(env.ctx, id); err == nil {
						delete(m.state, id)
						delete(m.blocks, id)
					}
				}
				if err != nil {
					t.Errorf("writer %d, step %d: %v", w, step, err)
					return
				}
				histories[w][m.digest()] = true
			}
			finals[w] = m.digest()
		})
	}
	writing := make(chan struct{})
	go func() { done.Wait(); close(writing) }()

	var seen []map[string]string
	for more := true; more; {
		select {
		case <-writing:
			more = false // one last view, of the final state
		default:
		}
		v, err := mc.MarkView(env.ctx)
		if err != nil {
			t.Fatalf("MarkView: %v", err)
		}
		seen = append(seen, metaViewDigests(t, env, v))
		if err := v.Close(); err != nil {
			t.Fatalf("MarkView.Close: %v", err)
		}
	}
	t.Logf("%d views", len(seen))
	if t.Failed() {
		return
	}
	for i, digests := range seen {
		for w := range writers {
			owner := fmt.Sprintf("%012d", w+1)
			if !histories[w][digests[owner]] {
				t.Errorf("view %d holds a state of writer %d that it never stored:\n%s", i, w, digests[owner])
			}
		}
	}
	for w := range writers {
		if got := seen[len(seen)-1][fmt.Sprintf("%012d", w+1)]; got != finals[w] {
			t.Errorf("the last view holds, of writer %d:\n%s\nwant its final state:\n%s", w, got, finals[w])
		}
	}
}
