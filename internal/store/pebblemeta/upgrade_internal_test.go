package pebblemeta

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// TestUpgradeFromVersion1 opens a store of format version 1, which has no
// O keys, and checks that Open indexes its pending snapshots by owner, so
// that the limit of CreateSnapshot counts the snapshots that were pending
// before the upgrade.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	const owner, other = "111122223333", "444455556666"
	n := 0
	create := func(owner string, state store.State) {
		t.Helper()
		n++
		id := fmt.Sprintf("snap-%017x", n)
		if err := s.CreateSnapshot(ctx, store.Snapshot{ID: id, OwnerID: owner, State: state, RootID: id}, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	create(owner, store.StatePending)
	create(owner, store.StateCompleting)
	create(owner, store.StateCompleted)
	create(owner, store.StateError)
	create(other, store.StatePending)

	// Make it what version 1 wrote: no O or D keys, V = 1.
	b := s.db.NewBatch()
	for _, space := range []byte{spacePending, spaceList} {
		_ = b.DeleteRange([]byte{space}, []byte{space + 1}, nil)
	}
	_ = b.Set([]byte{spaceVersion}, []byte{1}, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	if got, err := s.countPending(ctx, owner, 10); err != nil || got != 0 {
		t.Fatalf("a version 1 store has %d O keys of %s (%v), want 0", got, owner, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open of a version 1 store: %v", err)
	}
	defer s.Close()
	if v, err := s.get([]byte{spaceVersion}); err != nil || len(v) != 1 || v[0] != formatVersion {
		t.Fatalf("version after Open = %v, %v; want %d", v, err, formatVersion)
	}
	for _, c := range []struct {
		owner string
		want  int
	}{{owner, 2}, {other, 1}} {
		if got, err := s.countPending(ctx, c.owner, 10); err != nil || got != c.want {
			t.Errorf("%s has %d O keys after the upgrade (%v), want %d", c.owner, got, err, c.want)
		}
	}
	next := store.Snapshot{ID: "snap-00000000000000100", OwnerID: owner, State: store.StatePending}
	if err := s.CreateSnapshot(ctx, next, nil, 2); !errors.Is(err, store.ErrLimit) {
		t.Errorf("CreateSnapshot at the limit after the upgrade: error = %v, want ErrLimit", err)
	}
	if err := s.CreateSnapshot(ctx, next, nil, 3); err != nil {
		t.Errorf("CreateSnapshot under the limit after the upgrade: %v", err)
	}
	if got, err := s.ListSnapshots(ctx, owner, "", 10); err != nil || len(got) != 5 {
		t.Errorf("ListSnapshots(%s) after the upgrade = %d snapshots, %v; want 5", owner, len(got), err)
	}
}

// TestRefuseNewerVersion checks that Open refuses a store written by a
// newer ebsd.
func TestRefuseNewerVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Set([]byte{spaceVersion}, []byte{formatVersion + 1}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(t.Context(), Options{Dir: dir}); !errors.Is(err, store.ErrCorrupt) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a newer store: error = %v, want ErrCorrupt", err)
	}
}
