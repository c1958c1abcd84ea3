package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about Close and durability across reopening.

func testMetaClosed(t *testing.T, env *metaEnv) {
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, s)
	metaPut(t, env, s.ID, 1)
	if err := env.ms.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ms, ctx := env.ms, env.ctx
	mc := metaCollector(t, env)
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateSnapshot", func() error { return ms.CreateSnapshot(ctx, metaRoot(metaID(2), store.StatePending), nil, 0) }},
		{"GetSnapshot", func() error { _, err := ms.GetSnapshot(ctx, s.ID); return err }},
		{"UpdateSnapshot", func() error {
			_, err := ms.UpdateSnapshot(ctx, s.ID, func(*store.Snapshot) error { return nil })
			return err
		}},
		{"ScanSnapshots", func() error {
			return ms.ScanSnapshots(ctx, func(store.Snapshot) (bool, error) { return true, nil })
		}},
		{"ScanSnapshots(pending)", func() error {
			return ms.ScanSnapshots(ctx, func(store.Snapshot) (bool, error) { return true, nil }, store.StatePending)
		}},
		{"GetIdempotency", func() error { _, err := ms.GetIdempotency(ctx, s.OwnerID, "t"); return err }},
		{"PutBlock", func() error { return ms.PutBlock(ctx, s.ID, 2, metaRef("x", 2), time.Now()) }},
		{"OwnBlocks", func() error {
			return ms.OwnBlocks(ctx, s.ID, 0, func(store.IndexedRef) (bool, error) { return true, nil })
		}},
		{"WrittenIndexes", func() error { _, err := ms.WrittenIndexes(ctx, []string{s.ID}, 0, 10); return err }},
		{"ViewBlocks", func() error { _, err := ms.ViewBlocks(ctx, []string{s.ID}, 0, 10); return err }},
		{"ResolveBlocks", func() error { _, _, err := ms.ResolveBlocks(ctx, []string{s.ID}, []int32{1}); return err }},
		{"Secret", func() error {
			_, err := ms.Secret(ctx, "k", func() ([]byte, error) { return []byte("v"), nil })
			return err
		}},
		{"MarkView", func() error { _, err := mc.MarkView(ctx); return err }},
		{"PurgeSnapshot", func() error { return mc.PurgeSnapshot(ctx, s.ID) }},
		{"Close", ms.Close},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: error = %v, want ErrClosed", c.name, err)
		}
	}
}

// testMetaReopen checks that everything a store holds survives reopening.
func testMetaReopen(t *testing.T, env *metaEnv) {
	full := metaFullSnapshot(metaID(1))
	idem := *metaFullIdempotency(full)
	metaCreateSources(t, env, full)
	if err := env.ms.CreateSnapshot(env.ctx, full, &idem, 0); err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	l := newMetaLineage(env)
	root := l.add(t, 2, "", store.StateCompleted, 1, 2, 3)
	child := l.add(t, 3, root, store.StatePending, 2, 4)
	l.add(t, 4, root, store.StateError, 3) // sibling
	at := time.Date(2025, 8, 9, 10, 11, 12, 13, time.UTC)
	if err := env.ms.PutBlock(env.ctx, child, 5, metaRef(child, 5), at); err != nil {
		t.Fatalf("PutBlock: %v", err)
	}
	l.own[child][5] = metaRef(child, 5)
	wantChild := metaGet(t, env, child)

	env.reopen(t)

	metaCheckSnapshot(t, "GetSnapshot after reopening", metaGet(t, env, full.ID), full)
	metaCheckSnapshot(t, "GetSnapshot after reopening", metaGet(t, env, child), wantChild)
	metaCheckIdempotency(t, env, idem)
	if got, want := metaScanIDs(t, env, store.StatePending), []string{child}; !slices.Equal(got, want) {
		t.Errorf("pending snapshots after reopening = %v, want %v", got, want)
	}
	if got, want := metaScanIDs(t, env, store.StateCompleting), []string{full.ID}; !slices.Equal(got, want) {
		t.Errorf("completing snapshots after reopening = %v, want %v", got, want)
	}
	if got, want := metaOwn(t, env, child, 0), metaOwnOf(child, 2, 4, 5); !slices.Equal(got, want) {
		t.Errorf("OwnBlocks after reopening = %v, want %v", got, want)
	}
	if got := metaActivity(t, env, child); !got.Equal(at) {
		t.Errorf("LastActivity after reopening = %v, want %v", got, at)
	}
	if got, err := env.ms.WrittenIndexes(env.ctx, []string{child, root}, 0, 10); err != nil || !slices.Equal(got, []int32{1, 2, 3, 4, 5}) {
		t.Errorf("WrittenIndexes after reopening = %v, %v; want [1 2 3 4 5]", got, err)
	}
	for _, id := range l.ids {
		got, err := env.ms.ViewBlocks(env.ctx, l.chain(id), 0, 100)
		if want := l.view(id); err != nil || !slices.Equal(got, want) {
			t.Errorf("ViewBlocks(%v) after reopening = %v, %v; want %v", l.chain(id), got, err, want)
		}
	}

	// The pending snapshot still takes writes; the completed one does not.
	l.write(t, child, 6)
	if got, want := metaOwn(t, env, child, 6), metaOwnOf(child, 6); !slices.Equal(got, want) {
		t.Errorf("OwnBlocks after a write after reopening = %v, want %v", got, want)
	}
	if err := env.ms.PutBlock(env.ctx, root, 7, metaRef(root, 7), time.Now()); !errors.Is(err, store.ErrNotWritable) {
		t.Errorf("PutBlock(completed snapshot) after reopening: error = %v, want ErrNotWritable", err)
	}
}
