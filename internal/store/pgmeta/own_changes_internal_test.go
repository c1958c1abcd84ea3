package pgmeta

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"maps"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/store"
)

// TestOwnChangesAfterMigration checks migration 4 on a database with rows:
// a lineage completed at schema version 3 (rows written by SQL, as the
// binary of that version did) migrates, its snapshots have no replaced
// mappings (Known false, their mappings right), and a child completed
// after the migration records its own, resolved through the old chain;
// a side that mixes both knows exactly the indexes whose oldest writer is
// the new snapshot.
func TestOwnChangesAfterMigration(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, component, migrationsUpTo(t, 3)); err != nil {
		t.Fatal(err)
	}
	ref := func(s string) store.BlockRef {
		d := sha256.Sum256([]byte(s))
		return store.BlockRef{Digest: d, Key: sha256.Sum256(d[:])}
	}
	// A (root) and its child B, completed at version 3.
	own := map[string]map[int32]string{
		"snap-a": {0: "a0", 1: "a1", 2: "a2"},
		"snap-b": {1: "b1", 3: "b3"},
	}
	for depth, id := range []string{"snap-a", "snap-b"} {
		snap := store.Snapshot{ID: id, OwnerID: "111122223333", State: store.StateCompleted, RootID: "snap-a", Depth: depth}
		if depth > 0 {
			snap.ParentID = "snap-a"
		}
		rec, err := encodeSnapshot(snap)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO snapshots (id, owner_id, state, parent_id, copy_source_id, root_id, depth, record)
			VALUES ($1, $2, $3, $4, '', $5, $6, $7)`, id, snap.OwnerID, int16(snap.State), snap.ParentID, snap.RootID, depth, rec); err != nil {
			t.Fatal(err)
		}
		for index, c := range own[id] {
			r := ref(c)
			if _, err := pool.Exec(ctx, `INSERT INTO writes (snapshot_id, block_index, root_id, depth, digest, key, written_at, seq)
				VALUES ($1, $2, 'snap-a', $3, $4, $5, 0, nextval('writes_seq'))`, id, index, depth, r.Digest[:], r.Key[:]); err != nil {
				t.Fatal(err)
			}
		}
	}

	s, err := Open(ctx, Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// C, a child of B, made and completed at version 4.
	own["snap-c"] = map[int32]string{0: "c0", 1: "c1", 4: "c4"}
	if err := s.CreateSnapshot(ctx, store.Snapshot{ID: "snap-c", OwnerID: "111122223333", State: store.StatePending,
		ParentID: "snap-b", RootID: "snap-a", Depth: 2}, nil, 0); err != nil {
		t.Fatal(err)
	}
	for index, c := range own["snap-c"] {
		if err := s.PutBlock(ctx, "snap-c", index, ref(c), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateSnapshot(ctx, "snap-c", func(r *store.Snapshot) error { r.State = store.StateCompleted; return nil }); err != nil {
		t.Fatal(err)
	}

	// want builds an OwnChange of nearest's mapping of index, replacing
	// what (""; nothing), known or not.
	want := func(index int32, nearest string, known bool, replaced string) store.OwnChange {
		c := store.OwnChange{Index: index, Ref: ref(own[nearest][index]), Known: known}
		if known && replaced != "" {
			c.Replaced, c.Replaces = ref(replaced), true
		}
		return c
	}
	for _, tc := range []struct {
		own  []string
		want []store.OwnChange
	}{
		{[]string{"snap-b"}, []store.OwnChange{want(1, "snap-b", false, ""), want(3, "snap-b", false, "")}},
		{[]string{"snap-c"}, []store.OwnChange{want(0, "snap-c", true, "a0"), want(1, "snap-c", true, "b1"), want(4, "snap-c", true, "")}},
		{[]string{"snap-c", "snap-b"}, []store.OwnChange{
			want(0, "snap-c", true, "a0"), // its oldest writer is C, whose parent's view is A's there
			want(1, "snap-c", false, ""),  // its oldest writer is B
			want(3, "snap-b", false, ""),
			want(4, "snap-c", true, ""),
		}},
	} {
		got, err := s.OwnChanges(ctx, tc.own, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("OwnChanges(%v) = %+v; want %+v", tc.own, got, tc.want)
		}
	}

	// Purging C deletes its replaced rows with its writes.
	if _, err := s.UpdateSnapshot(ctx, "snap-c", func(r *store.Snapshot) error { r.State = store.StateDeleted; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeSnapshot(ctx, "snap-c"); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM replaced WHERE snapshot_id = 'snap-c'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("PurgeSnapshot left %d replaced rows", left)
	}
}

// migrationsUpTo is pgmeta's migrations up to version n.
func migrationsUpTo(t *testing.T, n int) fs.FS {
	t.Helper()
	all, err := fs.ReadDir(migrations(), ".")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, e := range all[:n] {
		b, err := fs.ReadFile(migrations(), e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	return out
}

// TestOwnChangesImported checks that ImportSnapshot records the replaced
// mappings of a completed snapshot whose chain it imported before, and
// leaves them unknown for one whose parent is not there.
func TestOwnChangesImported(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{DSN: pgtest.Start(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ref := func(s string) store.BlockRef {
		return store.BlockRef{Digest: sha256.Sum256([]byte(s)), Key: sha256.Sum256([]byte("k" + s))}
	}
	imp := func(id, parent string, depth int, blocks map[int32]string) {
		t.Helper()
		snap := store.Snapshot{ID: id, OwnerID: "111122223333", State: store.StateCompleted, ParentID: parent, RootID: "snap-a", Depth: depth}
		var rows []store.IndexedRef
		for _, i := range slices.Sorted(maps.Keys(blocks)) {
			rows = append(rows, store.IndexedRef{Index: i, Ref: ref(blocks[i])})
		}
		if err := s.ImportSnapshot(ctx, snap, nil, rows); err != nil {
			t.Fatal(err)
		}
	}
	imp("snap-a", "", 0, map[int32]string{0: "a0", 1: "a1"})
	imp("snap-b", "snap-a", 1, map[int32]string{1: "b1", 2: "b2"})
	imp("snap-d", "snap-c", 3, map[int32]string{0: "d0"}) // snap-c was not imported
	for _, tc := range []struct {
		own  string
		want []store.OwnChange
	}{
		{"snap-b", []store.OwnChange{
			{Index: 1, Ref: ref("b1"), Replaced: ref("a1"), Replaces: true, Known: true},
			{Index: 2, Ref: ref("b2"), Known: true},
		}},
		{"snap-d", []store.OwnChange{{Index: 0, Ref: ref("d0")}}},
	} {
		got, err := s.OwnChanges(ctx, []string{tc.own}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("OwnChanges(%s) = %+v; want %+v", tc.own, got, tc.want)
		}
	}
}
