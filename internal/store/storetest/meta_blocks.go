package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about a snapshot's own block mappings: PutBlock, OwnBlocks,
// LastActivity and WrittenIndexes.

// metaMaxIndex is the last block index of the largest volume (64 TiB).
const metaMaxIndex = 65536*2048 - 1

// metaOwnOf returns the IndexedRefs metaPut wrote for indexes of id.
func metaOwnOf(id string, indexes ...int32) []store.IndexedRef {
	var out []store.IndexedRef
	for _, i := range indexes {
		out = append(out, store.IndexedRef{Index: i, Ref: metaRef(id, i)})
	}
	return out
}

func testMetaPutBlockOwnBlocks(t *testing.T, env *metaEnv) {
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, s)
	metaPut(t, env, s.ID, 5, 1, metaMaxIndex, 0, 77, 256, 3) // out of order on purpose
	tests := []struct {
		start int32
		want  []int32
	}{
		{0, []int32{0, 1, 3, 5, 77, 256, metaMaxIndex}},
		{1, []int32{1, 3, 5, 77, 256, metaMaxIndex}},
		{4, []int32{5, 77, 256, metaMaxIndex}},
		{78, []int32{256, metaMaxIndex}},
		{metaMaxIndex, []int32{metaMaxIndex}},
	}
	for _, tt := range tests {
		if got, want := metaOwn(t, env, s.ID, tt.start), metaOwnOf(s.ID, tt.want...); !slices.Equal(got, want) {
			t.Errorf("OwnBlocks(start %d) = %v, want %v", tt.start, got, want)
		}
	}
}

func testMetaPutBlockOverwrite(t *testing.T, env *metaEnv) {
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, s)
	metaPut(t, env, s.ID, 1, 2, 3)
	again := metaRef("again", 2)
	if err := env.ms.PutBlock(env.ctx, s.ID, 2, again, time.Now()); err != nil {
		t.Fatalf("PutBlock(overwrite): %v", err)
	}
	want := metaOwnOf(s.ID, 1, 2, 3)
	want[1].Ref = again
	if got := metaOwn(t, env, s.ID, 0); !slices.Equal(got, want) {
		t.Errorf("OwnBlocks after overwrite = %v, want %v", got, want)
	}
}

func testMetaPutBlockNotWritable(t *testing.T, env *metaEnv) {
	for i, state := range []store.State{store.StateCompleting, store.StateCompleted, store.StateError, store.StateDeleted} {
		t.Run(state.String(), func(t *testing.T) {
			// One snapshot created in state, one that wrote blocks first.
			created := metaRoot(metaID(2*i), state)
			moved := metaRoot(metaID(2*i+1), store.StatePending)
			metaCreate(t, env, created, moved)
			metaPut(t, env, moved.ID, 1, 2)
			before := metaActivity(t, env, moved.ID)
			metaSetState(t, env, moved.ID, state)

			later := before.Add(time.Hour)
			for _, s := range []store.Snapshot{created, moved} {
				for _, index := range []int32{2, 3} {
					err := env.ms.PutBlock(env.ctx, s.ID, index, metaRef("refused", index), later)
					if !errors.Is(err, store.ErrNotWritable) {
						t.Errorf("PutBlock(%s snapshot, %d) error = %v, want ErrNotWritable", state, index, err)
					}
				}
			}
			if got := metaOwn(t, env, created.ID, 0); len(got) != 0 {
				t.Errorf("OwnBlocks after refused writes = %v, want none", got)
			}
			if got, want := metaOwn(t, env, moved.ID, 0), metaOwnOf(moved.ID, 1, 2); !slices.Equal(got, want) {
				t.Errorf("OwnBlocks after refused writes = %v, want %v", got, want)
			}
			view, err := env.ms.ViewBlocks(env.ctx, []string{moved.ID}, 0, 10)
			if want := metaOwnOf(moved.ID, 1, 2); err != nil || !slices.Equal(view, want) {
				t.Errorf("ViewBlocks after refused writes = %v, %v; want %v", view, err, want)
			}
			if got := metaActivity(t, env, created.ID); !got.IsZero() {
				t.Errorf("LastActivity after refused writes = %v, want zero time", got)
			}
			if got := metaActivity(t, env, moved.ID); !got.Equal(before) {
				t.Errorf("LastActivity after refused writes = %v, want %v", got, before)
			}
		})
	}
}

func testMetaPutBlockMissing(t *testing.T, env *metaEnv) {
	err := env.ms.PutBlock(env.ctx, metaID(1), 0, metaRef("x", 0), time.Now())
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutBlock(missing snapshot) error = %v, want ErrNotFound", err)
	}
}

func testMetaOwnBlocksNotInherited(t *testing.T, env *metaEnv) {
	parent := metaRoot(metaID(1), store.StatePending)
	child := metaChild(metaID(2), parent, store.StatePending)
	other := metaRoot(metaID(3), store.StatePending)
	metaCreate(t, env, parent, other)
	metaPut(t, env, parent.ID, 1, 2)
	metaSetState(t, env, parent.ID, store.StateCompleted)
	metaCreate(t, env, child)
	metaPut(t, env, child.ID, 2, 3)
	metaPut(t, env, other.ID, 0, 1, 2, 3, 4)
	for _, tt := range []struct {
		id   string
		want []store.IndexedRef
	}{
		{parent.ID, metaOwnOf(parent.ID, 1, 2)},
		{child.ID, metaOwnOf(child.ID, 2, 3)},
		{other.ID, metaOwnOf(other.ID, 0, 1, 2, 3, 4)},
	} {
		if got := metaOwn(t, env, tt.id, 0); !slices.Equal(got, tt.want) {
			t.Errorf("OwnBlocks(%s) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func testMetaOwnBlocksStops(t *testing.T, env *metaEnv) {
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, s)
	metaPut(t, env, s.ID, 1, 2, 3, 4)
	var got []int32
	err := env.ms.OwnBlocks(env.ctx, s.ID, 0, func(r store.IndexedRef) (bool, error) {
		got = append(got, r.Index)
		return len(got) < 2, nil
	})
	if want := []int32{1, 2}; err != nil || !slices.Equal(got, want) {
		t.Errorf("OwnBlocks stopping at the 2nd = %v, %v; want %v, nil", got, err, want)
	}
	errStop := errors.New("stop")
	got = nil
	err = env.ms.OwnBlocks(env.ctx, s.ID, 2, func(r store.IndexedRef) (bool, error) {
		got = append(got, r.Index)
		return true, errStop
	})
	if want := []int32{2}; !errors.Is(err, errStop) || !slices.Equal(got, want) {
		t.Errorf("OwnBlocks failing at the 1st = %v, %v; want %v, fn's error", got, err, want)
	}
}

// testMetaLastActivity checks that every record the store returns carries
// the time of the snapshot's last PutBlock.
func testMetaLastActivity(t *testing.T, env *metaEnv) {
	s, other := metaRoot(metaID(1), store.StatePending), metaRoot(metaID(2), store.StatePending)
	metaCreate(t, env, s, other)
	check := func(step string, id string, want time.Time) {
		t.Helper()
		if got := metaActivity(t, env, id); !got.Equal(want) {
			t.Errorf("%s: GetSnapshot(%s).LastActivity = %v, want %v", step, id, got, want)
		}
		err := env.ms.ScanSnapshots(env.ctx, func(rec store.Snapshot) (bool, error) {
			if rec.ID == id && !rec.LastActivity.Equal(want) {
				t.Errorf("%s: ScanSnapshots gives %s LastActivity %v, want %v", step, id, rec.LastActivity, want)
			}
			return true, nil
		}, store.StatePending)
		if err != nil {
			t.Fatalf("ScanSnapshots: %v", err)
		}
		var seen time.Time
		got, err := env.ms.UpdateSnapshot(env.ctx, id, func(rec *store.Snapshot) error {
			seen = rec.LastActivity
			return nil
		})
		if err != nil || !seen.Equal(want) || !got.LastActivity.Equal(want) {
			t.Errorf("%s: UpdateSnapshot(%s) gave fn LastActivity %v and returned %v, %v; want %v", step, id, seen, got.LastActivity, err, want)
		}
	}
	check("no writes", s.ID, time.Time{})
	t1 := time.Date(2025, 5, 6, 7, 8, 9, 987654321, time.UTC)
	t2 := time.Now() // with a monotonic reading and the local zone
	for _, w := range []struct {
		at    time.Time
		index int32
	}{{t1, 3}, {t2, 1}} {
		if err := env.ms.PutBlock(env.ctx, s.ID, w.index, metaRef("a", w.index), w.at); err != nil {
			t.Fatalf("PutBlock: %v", err)
		}
		check(fmt.Sprintf("after a write at %v", w.at), s.ID, w.at)
	}
	check("another snapshot", other.ID, time.Time{})
}

// testMetaLastActivityKeptByStore checks that only PutBlock sets
// LastActivity: what CreateSnapshot and UpdateSnapshot are given is
// ignored, so that a stale record written back cannot hide a write.
func testMetaLastActivityKeptByStore(t *testing.T, env *metaEnv) {
	s := metaRoot(metaID(1), store.StatePending)
	s.LastActivity = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := env.ms.CreateSnapshot(env.ctx, s, nil, 0); err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	if got := metaActivity(t, env, s.ID); !got.IsZero() {
		t.Errorf("LastActivity of a new snapshot = %v, want zero: CreateSnapshot must ignore the caller's", got)
	}
	at := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := env.ms.PutBlock(env.ctx, s.ID, 0, metaRef(s.ID, 0), at); err != nil {
		t.Fatalf("PutBlock: %v", err)
	}
	got, err := env.ms.UpdateSnapshot(env.ctx, s.ID, func(rec *store.Snapshot) error {
		rec.Description = "updated"
		rec.LastActivity = time.Time{}
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateSnapshot: %v", err)
	}
	if !got.LastActivity.Equal(at) || got.Description != "updated" {
		t.Errorf("UpdateSnapshot returned LastActivity %v, Description %q; want %v, \"updated\"", got.LastActivity, got.Description, at)
	}
	if got := metaActivity(t, env, s.ID); !got.Equal(at) {
		t.Errorf("LastActivity after an update that cleared it = %v, want %v", got, at)
	}
}

func testMetaWrittenIndexes(t *testing.T, env *metaEnv) {
	a := metaRoot(metaID(1), store.StatePending)
	b := metaChild(metaID(2), a, store.StatePending)
	c := metaRoot(metaID(3), store.StatePending)
	d := metaRoot(metaID(4), store.StatePending)
	metaCreate(t, env, a, c, d)
	metaPut(t, env, a.ID, 1, 5, 9)
	metaSetState(t, env, a.ID, store.StateCompleted)
	metaCreate(t, env, b)
	metaPut(t, env, b.ID, 5, 6)
	metaPut(t, env, c.ID, 2, 9, 100, metaMaxIndex)
	metaPut(t, env, d.ID, 3, 4, 7)
	abc := []string{a.ID, b.ID, c.ID}
	tests := []struct {
		ids   []string
		start int32
		limit int
		want  []int32
	}{
		{abc, 0, 100, []int32{1, 2, 5, 6, 9, 100, metaMaxIndex}},
		{abc, 0, 3, []int32{1, 2, 5}},
		{abc, 5, 3, []int32{5, 6, 9}},
		{abc, 6, 1, []int32{6}},
		{abc, 10, 100, []int32{100, metaMaxIndex}},
		{abc, metaMaxIndex, 100, []int32{metaMaxIndex}},
		{[]string{c.ID, a.ID, b.ID}, 0, 7, []int32{1, 2, 5, 6, 9, 100, metaMaxIndex}},
		{[]string{b.ID}, 0, 100, []int32{5, 6}}, // not inherited from a
		{[]string{b.ID, a.ID}, 0, 100, []int32{1, 5, 6, 9}},
		{nil, 0, 100, nil},
	}
	for _, tt := range tests {
		got, err := env.ms.WrittenIndexes(env.ctx, tt.ids, tt.start, tt.limit)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("WrittenIndexes(%v, %d, %d) = %v, %v; want %v", tt.ids, tt.start, tt.limit, got, err, tt.want)
		}
	}
}

func testMetaConcurrentPutBlock(t *testing.T, env *metaEnv) {
	const workers, each = 64, 4
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, s)
	var wg sync.WaitGroup
	for w := range int32(workers) {
		wg.Go(func() {
			for k := range int32(each) {
				index := k*workers + w
				if err := env.ms.PutBlock(env.ctx, s.ID, index, metaRef(s.ID, index), time.Now()); err != nil {
					t.Errorf("PutBlock(%d): %v", index, err)
				}
			}
		})
	}
	wg.Wait()
	var want []int32
	for i := range int32(workers * each) {
		want = append(want, i)
	}
	if got := metaOwn(t, env, s.ID, 0); !slices.Equal(got, metaOwnOf(s.ID, want...)) {
		t.Errorf("OwnBlocks after %d concurrent writes has %d blocks, want them all", len(want), len(got))
	}
}

// testMetaPutBlockRacesComplete checks UpdateSnapshot's promise: a PutBlock
// that returned nil is visible once the snapshot left StatePending, and no
// PutBlock succeeds after that.
func testMetaPutBlockRacesComplete(t *testing.T, env *metaEnv) {
	// The race is narrow: run it a few times.
	for round := range 8 {
		metaPutBlockRaceComplete(t, env, metaRoot(metaID(round), store.StatePending))
	}
}

func metaPutBlockRaceComplete(t *testing.T, env *metaEnv, s store.Snapshot) {
	t.Helper()
	const writers, maxEach, minWrites = 32, 2000, 64
	metaCreate(t, env, s)

	var (
		completed atomic.Bool  // UpdateSnapshot has returned
		written   atomic.Int64 // PutBlocks that returned nil
		wg        sync.WaitGroup
		mu        sync.Mutex
		succeeded []int32
	)
	for w := range int32(writers) {
		wg.Go(func() {
			refused := false
			for k := range int32(maxEach) {
				index := w*maxEach + k
				after := completed.Load()
				err := env.ms.PutBlock(env.ctx, s.ID, index, metaRef(s.ID, index), time.Now())
				switch {
				case err == nil && (after || refused):
					t.Errorf("PutBlock(%d) after the snapshot completed returned nil", index)
				case err == nil:
					written.Add(1)
					mu.Lock()
					succeeded = append(succeeded, index)
					mu.Unlock()
				case errors.Is(err, store.ErrNotWritable):
					if refused {
						return // refused twice in a row: done
					}
					refused = true
				default:
					t.Errorf("PutBlock(%d): %v", index, err)
					return
				}
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for written.Load() < minWrites && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	metaSetState(t, env, s.ID, store.StateCompleted)
	completed.Store(true)
	// No PutBlock was in flight when the state changed, so none can land
	// from now on, even one that began before.
	atCompletion := metaOwn(t, env, s.ID, 0)
	wg.Wait()

	slices.Sort(succeeded)
	got := metaOwn(t, env, s.ID, 0)
	if !slices.Equal(got, atCompletion) {
		t.Errorf("OwnBlocks changed after UpdateSnapshot completed the snapshot: %d blocks, then %d", len(atCompletion), len(got))
	}
	if want := metaOwnOf(s.ID, succeeded...); !slices.Equal(got, want) {
		t.Errorf("OwnBlocks has %d blocks, want exactly the %d whose PutBlock returned nil", len(got), len(want))
	}
	if len(succeeded) < minWrites {
		t.Errorf("only %d PutBlocks succeeded before completion, want at least %d", len(succeeded), minWrites)
	}
}
