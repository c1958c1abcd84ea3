package pebblemeta

import (
	"bytes"
	"fmt"
	"log/slog"
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

// A store of format version 2, written key by key as version 2 wrote it:
// records (one of them as literal JSON of that version, which knew no
// DeleteTime, CopySourceID or FullBlocks), P and O keys of the pending and
// completing snapshots, block mappings, V = 2. It has more records than
// one upgrade batch holds.
const (
	v2Owner, v2Other = "111122223333", "444455556666"
	v2Snapshots      = upgradeBatch + 300
	v2LiteralID      = "snap-0000000000000beef"
)

// v2Record is what version 2 stored for v2LiteralID.
var v2Record = []byte("\x01" + `{"id":"snap-0000000000000beef","owner":"111122223333","state":1,"volumeSize":8,` +
	`"tags":[{"k":"env","v":"prod"}],"root":"snap-0000000000000beef","depth":0,"start":"2025-01-02T03:04:05Z",` +
	`"timeout":3600000000000,"complete":"0001-01-01T00:00:00Z","expectedBlocks":0,"wrappedKey":null}`)

// v2Store writes the version 2 store in dir and returns, per owner, the
// IDs of its snapshots in ID order and, per owner, how many are pending.
func v2Store(t *testing.T, fs vfs.FS, dir string) (ids map[string][]string, pending map[string]int) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{FS: fs, Logger: newPebbleLogger(slog.New(slog.DiscardHandler), dir)})
	if err != nil {
		t.Fatal(err)
	}
	ids, pending = map[string][]string{}, map[string]int{}
	b := db.NewBatch()
	index := func(rec store.Snapshot) {
		if rec.State == store.StatePending || rec.State == store.StateCompleting {
			_ = b.Set(stateKey(rec.State, rec.ID), nil, nil)
			_ = b.Set(pendingKey(rec.OwnerID, rec.ID), nil, nil)
			pending[rec.OwnerID]++
		}
		ids[rec.OwnerID] = append(ids[rec.OwnerID], rec.ID)
	}
	states := []store.State{store.StatePending, store.StateCompleting, store.StateCompleted, store.StateError}
	for n := range v2Snapshots {
		rec := store.Snapshot{
			ID: fmt.Sprintf("snap-%017x", n), OwnerID: v2Owner, State: states[n%len(states)],
			VolumeSize: 8, StartTime: time.Unix(1700000000, 0).UTC(), Timeout: time.Hour,
		}
		rec.RootID = rec.ID
		if n%3 == 2 {
			rec.OwnerID = v2Other
		}
		v, err := encodeSnapshot(rec)
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Set(snapshotKey(rec.ID), v, nil)
		index(rec)
		if n == 0 {
			ref := encodeRef(store.BlockRef{Digest: [32]byte{1}, Key: [32]byte{2}})
			_ = b.Set(writeKey(rec.ID, 7), ref, nil)
			_ = b.Set(layoutKey(rec.ID, 7, 0, rec.ID), ref, nil)
			_ = b.Set(activityKey(rec.ID), encodeTime(time.Unix(1700000100, 0)), nil)
		}
	}
	_ = b.Set(snapshotKey(v2LiteralID), v2Record, nil)
	index(store.Snapshot{ID: v2LiteralID, OwnerID: v2Owner, State: store.StatePending})
	_ = b.Set([]byte{spaceVersion}, []byte{2}, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{v2Owner, v2Other} {
		slices.Sort(ids[owner])
	}
	return ids, pending
}

// indexKeySet returns every P, O, D and U key of s.
func indexKeySet(t *testing.T, s *Store) [][]byte {
	t.Helper()
	var keys [][]byte
	for _, space := range []byte{spaceState, spacePending, spaceList, spaceUsage} {
		err := s.scan(t.Context(), []byte{space}, []byte{space + 1}, func(key, _ []byte) (bool, error) {
			keys = append(keys, bytes.Clone(key))
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// checkV2Upgraded checks that s holds the v2 store, indexed for version 3.
func checkV2Upgraded(t *testing.T, s *Store, ids map[string][]string, pending map[string]int) {
	t.Helper()
	ctx := t.Context()
	if v, err := s.get([]byte{spaceVersion}); err != nil || !bytes.Equal(v, []byte{formatVersion}) {
		t.Fatalf("version after Open = %v, %v; want %d", v, err, formatVersion)
	}
	// Its one non-zero mapping, of snapshot 0, is v2Owner's.
	if n, err := s.Usage(ctx, v2Owner); err != nil || n != 1 {
		t.Errorf("Usage(%s) after the upgrade = %d, %v; want 1", v2Owner, n, err)
	}
	checkUsageExact(t, s, "after the upgrade")
	for owner, want := range ids {
		var got []string
		for after := ""; ; {
			page, err := s.ListSnapshots(ctx, owner, after, 1000)
			if err != nil {
				t.Fatalf("ListSnapshots(%s): %v", owner, err)
			}
			for _, rec := range page {
				got = append(got, rec.ID)
			}
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListSnapshots(%s) after the upgrade: %d snapshots, want %d", owner, len(got), len(want))
		}
		if got, err := s.countPending(ctx, owner, 1<<20); err != nil || got != pending[owner] {
			t.Errorf("%s has %d O keys after the upgrade (%v), want %d", owner, got, err, pending[owner])
		}
	}
	rec, err := s.GetSnapshot(ctx, v2LiteralID)
	if err != nil || rec.State != store.StatePending || rec.Tags[0].Value != "prod" || !rec.DeleteTime.IsZero() ||
		rec.CopySourceID != "" || rec.FullBlocks != 0 {
		t.Errorf("GetSnapshot of a version 2 record = %+v, %v", rec, err)
	}
	first := fmt.Sprintf("snap-%017x", 0)
	if view, err := s.ViewBlocks(ctx, []string{first}, 0, 10); err != nil || len(view) != 1 || view[0].Index != 7 {
		t.Errorf("ViewBlocks of a version 2 snapshot = %v, %v; want index 7", view, err)
	}
	// The indexes move with the records from now on.
	if _, err := s.UpdateSnapshot(ctx, v2LiteralID, func(r *store.Snapshot) error {
		r.State = store.StateDeleted
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.countPending(ctx, v2Owner, 1<<20); err != nil || got != pending[v2Owner]-1 {
		t.Errorf("%s has %d O keys after a delete (%v), want %d", v2Owner, got, err, pending[v2Owner]-1)
	}
	// It is the last of v2Owner's IDs.
	page, err := s.ListSnapshots(ctx, v2Owner, ids[v2Owner][len(ids[v2Owner])-2], 2)
	if err != nil || len(page) != 0 {
		t.Errorf("ListSnapshots after deleting %s = %v, %v", v2LiteralID, page, err)
	}
}

// TestUpgradeFromVersion2 opens a version 2 store, which has no D keys,
// and checks that Open indexes every snapshot by owner, in more than one
// batch, without losing the O keys or reading version 2 records wrong.
func TestUpgradeFromVersion2(t *testing.T) {
	dir := t.TempDir()
	ids, pending := v2Store(t, vfs.Default, dir)
	s, err := Open(t.Context(), Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open of a version 2 store: %v", err)
	}
	defer s.Close()
	checkV2Upgraded(t, s, ids, pending)
}

// TestUpgradeIsIdempotent checks that an upgrade cut short anywhere is
// finished by the next Open: whatever index keys a partial run left (some
// of the new ones, and one a run cannot have written but which must not
// survive either), the version stays 2 until the last batch, and the next
// upgrade gives exactly the keys of an uninterrupted one.
func TestUpgradeIsIdempotent(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	ids, pending := v2Store(t, vfs.Default, dir)
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := indexKeySet(t, s)

	// What a crash after the first batches leaves: half the D keys, V = 2;
	// and a stray D key.
	b := s.db.NewBatch()
	prefix := []byte{spaceList}
	for i, k := range want {
		if bytes.HasPrefix(k, prefix) && i%2 == 0 {
			_ = b.Delete(k, nil)
		}
	}
	_ = b.Set(listKey(v2Owner, "snap-ffffffffffffffff0"), nil, nil)
	_ = b.Set([]byte{spaceVersion}, []byte{2}, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 { // and an upgrade that runs again on a finished store
		if s, err = Open(ctx, Options{Dir: dir}); err != nil {
			t.Fatalf("Open after a partial upgrade: %v", err)
		}
		if got := indexKeySet(t, s); !slices.EqualFunc(got, want, bytes.Equal) {
			t.Errorf("after a partial upgrade and Open: %d index keys, want the %d of an uninterrupted upgrade", len(got), len(want))
		}
		if v, err := upgrade(s.db, 2); err != nil || v != formatVersion {
			t.Fatalf("upgrade of an upgraded store = %d, %v", v, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkV2Upgraded(t, s, ids, pending)
}

// TestReadOnlyVersion2Lists checks that a version 2 store opened read-only
// (its disk too full to upgrade it) lists snapshots from their records,
// and is upgraded when it is opened writable.
func TestReadOnlyVersion2Lists(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	ids, pending := v2Store(t, vfs.Default, dir)
	s, err := Open(ctx, Options{Dir: dir, MinFreeBytes: 1 << 62, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Open read-only: %v", err)
	}
	if v, err := s.get([]byte{spaceVersion}); err != nil || !bytes.Equal(v, []byte{2}) {
		t.Fatalf("version of the read-only store = %v, %v; want 2", v, err)
	}
	for owner, want := range ids {
		page, err := s.ListSnapshots(ctx, owner, want[9], 5)
		var got []string
		for _, rec := range page {
			got = append(got, rec.ID)
		}
		if err != nil || !slices.Equal(got, want[10:15]) {
			t.Errorf("ListSnapshots(%s) read-only = %v, %v; want %v", owner, got, err, want[10:15])
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkV2Upgraded(t, s, ids, pending)
}

// TestUpgradeCrash cuts the power before every write to the log during
// an upgrade, keeping all or a random part of what was not synced, and
// checks that every store it leaves opens to the upgraded store: the
// version is stamped only once every index key is durable, and an upgrade
// cut short runs again.
func TestUpgradeCrash(t *testing.T) {
	ctx := t.Context()
	const dir = "/meta"
	mem := vfs.NewCrashableMem()
	ids, pending := v2Store(t, mem, dir)
	opts := Options{Dir: dir, MinFreeBytes: -1, Logger: slog.New(slog.DiscardHandler)}

	var (
		mu     sync.Mutex
		rng    = rand.New(rand.NewPCG(11, 12))
		clones []*vfs.MemFS
	)
	cut := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileSync) {
			mu.Lock()
			defer mu.Unlock()
			// All that was written, which holds the batches written so far
			// whole, and a random part of it, which tears them.
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
		t.Fatalf("Open: %v", err)
	}
	want := indexKeySet(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d power cuts", len(clones))
	if len(clones) < 4 {
		t.Fatalf("only %d power cuts: the upgrade wrote less than expected", len(clones))
	}
	for i, clone := range clones {
		o := opts
		o.FS = clone
		s, err := Open(ctx, o)
		if err != nil {
			t.Fatalf("Open after power cut %d: %v", i, err)
		}
		v, err := s.get([]byte{spaceVersion})
		if err != nil || !bytes.Equal(v, []byte{formatVersion}) {
			t.Errorf("power cut %d: version after Open = %v, %v; want %d", i, v, err, formatVersion)
		}
		if got := indexKeySet(t, s); !slices.EqualFunc(got, want, bytes.Equal) {
			t.Errorf("power cut %d: %d index keys after Open, want the %d of an uninterrupted upgrade", i, len(got), len(want))
		}
		if i == len(clones)/2 {
			checkV2Upgraded(t, s, ids, pending)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
