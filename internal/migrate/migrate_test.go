package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/migrate"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

func stores(m migrate.Meta, b store.BlockStore) migrate.Stores {
	return migrate.Stores{Meta: m, Blocks: b}
}

// TestMigrateCopiesEverything migrates the fixture into empty stores and
// compares the result through the MetaStore's own methods, not through the
// migration's check: records in every state, mappings, views, usage,
// pending counts, idempotency records, secrets and block contents.
func TestMigrateCopiesEverything(t *testing.T) {
	ctx := context.Background()
	src := newFixture(t)
	dm, db := memstore.NewMeta(), memstore.NewBlocks()
	rep, err := migrate.Run(ctx, migrate.Options{From: stores(src.meta, src.blocks), To: stores(dm, db)})
	if err != nil {
		t.Fatalf("Run: %v (mismatches %q)", err, rep.Mismatches)
	}
	want := all(t, src.meta)
	if rep.Snapshots != len(want) || rep.Imported != len(want) || rep.Skipped != 0 || rep.Checked != len(want) {
		t.Errorf("report %+v, want %d snapshots imported and checked", rep, len(want))
	}
	if rep.Secrets != 2 {
		t.Errorf("%d secrets copied, want 2", rep.Secrets)
	}
	got := all(t, dm)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records differ:\n got %+v\nwant %+v", got, want)
	}
	for id, s := range want {
		var srcOwn, dstOwn []store.IndexedRef
		collect := func(m store.MetaStore, into *[]store.IndexedRef) {
			if err := m.OwnBlocks(ctx, id, 0, func(r store.IndexedRef) (bool, error) {
				*into = append(*into, r)
				return true, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		collect(src.meta, &srcOwn)
		collect(dm, &dstOwn)
		if !slices.Equal(srcOwn, dstOwn) {
			t.Errorf("%s: own blocks %v, want %v", id, dstOwn, srcOwn)
		}
		for _, r := range srcOwn {
			if r.Ref.Digest == ebs.ZeroBlockDigest {
				continue
			}
			a, _ := src.blocks.Get(ctx, r.Ref.Key, nil)
			b, err := db.Get(ctx, r.Ref.Key, nil)
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s block %d: %q, %v; want %q", id, r.Index, b, err, a)
			}
		}
		if s.ClientToken != "" {
			wi, werr := src.meta.GetIdempotency(ctx, s.OwnerID, s.ClientToken)
			gi, gerr := dm.GetIdempotency(ctx, s.OwnerID, s.ClientToken)
			if !reflect.DeepEqual(gi, wi) || (gerr == nil) != (werr == nil) {
				t.Errorf("%s: idempotency %+v, %v; want %+v, %v", id, gi, gerr, wi, werr)
			}
		}
	}
	// The grandchild reads through its tombstoned grandparent.
	chain := []string{src.ids["grandchild"], src.ids["child"], src.ids["root"]}
	wv, _ := src.meta.ViewBlocks(ctx, chain, 0, 100)
	gv, err := dm.ViewBlocks(ctx, chain, 0, 100)
	if err != nil || !slices.Equal(gv, wv) || len(wv) != 5 {
		t.Errorf("view of the grandchild: %v, %v; want the 5 entries %v", gv, err, wv)
	}
	for _, owner := range []string{owner1, owner2} {
		w, _ := src.meta.Usage(ctx, owner)
		g, _ := dm.Usage(ctx, owner)
		if g != w || w == 0 {
			t.Errorf("usage of %s: %d, want %d (non-zero)", owner, g, w)
		}
		wl, _ := src.meta.ListSnapshots(ctx, owner, "", 100)
		gl, _ := dm.ListSnapshots(ctx, owner, "", 100)
		if !reflect.DeepEqual(gl, wl) {
			t.Errorf("ListSnapshots(%s) = %v, want %v", owner, gl, wl)
		}
	}
	var secrets []string
	_ = dm.ScanSecrets(ctx, func(name string, v []byte) (bool, error) {
		secrets = append(secrets, name+"="+string(v))
		return true, nil
	})
	if want := []string{"kms/key/arn:aws:kms:us-east-1:" + owner2 + ":key/k1=material", "token-hmac-v1=hmac"}; !slices.Equal(secrets, want) {
		t.Errorf("secrets %q, want %q", secrets, want)
	}
	// Owner 1 has a pending, a completing and no copying snapshot: two
	// pending; owner 2 one copying. The counts came across: a limit of
	// that many refuses one more.
	for owner, pending := range map[string]int{owner1: 2, owner2: 1} {
		s := store.Snapshot{ID: "snap-0000000000000fff" + owner[:1], OwnerID: owner, State: store.StatePending}
		if err := dm.CreateSnapshot(ctx, s, nil, pending); !errors.Is(err, store.ErrLimit) {
			t.Errorf("%s: create at the limit of %d pending: %v, want ErrLimit", owner, pending, err)
		}
		if err := dm.CreateSnapshot(ctx, s, nil, pending+1); err != nil {
			t.Errorf("%s: create under the limit of %d pending: %v", owner, pending+1, err)
		}
	}
	// The imported pending snapshot still takes writes, counted.
	before, _ := dm.Usage(ctx, owner1)
	ref := store.BlockRef{Digest: ebs.Sum([]byte("new")), Key: ebs.Sum([]byte("new"))}
	if err := dm.PutBlock(ctx, src.ids["grandchild"], 9, ref, epoch); err != nil {
		t.Fatalf("PutBlock on the imported pending snapshot: %v", err)
	}
	if after, _ := dm.Usage(ctx, owner1); after != before+1 {
		t.Errorf("usage after a PutBlock: %d, want %d", after, before+1)
	}
	if rep.BlocksPut == 0 || rep.BlocksVerified != rep.BlocksPut || rep.ViewEntries == 0 || rep.Owners != 2 {
		t.Errorf("report %+v: want every block put verified, views and 2 owners compared", rep)
	}
}

// TestMigrateAgainIsANoOp runs a migration twice: the second run copies
// nothing and finds everything equal.
func TestMigrateAgainIsANoOp(t *testing.T) {
	ctx := context.Background()
	src := newFixture(t)
	to := stores(memstore.NewMeta(), memstore.NewBlocks())
	if _, err := migrate.Run(ctx, migrate.Options{From: stores(src.meta, src.blocks), To: to}); err != nil {
		t.Fatal(err)
	}
	rep, err := migrate.Run(ctx, migrate.Options{From: stores(src.meta, src.blocks), To: to})
	if err != nil {
		t.Fatalf("second run: %v %q", err, rep.Mismatches)
	}
	if rep.Imported != 0 || rep.Skipped != rep.Snapshots || rep.BlocksPut != 0 || rep.Checked != rep.Snapshots {
		t.Errorf("second run's report %+v: want everything skipped, nothing put, everything checked", rep)
	}
}

// failingMeta is a destination that fails every ImportSnapshot after the
// first n: a migration killed part-way.
type failingMeta struct {
	*memstore.Meta
	n     int
	calls atomic.Int32
}

var errKilled = errors.New("killed")

func (m *failingMeta) ImportSnapshot(ctx context.Context, s store.Snapshot, idem *store.Idempotency, blocks []store.IndexedRef) error {
	if int(m.calls.Add(1)) > m.n {
		return errKilled
	}
	return m.Meta.ImportSnapshot(ctx, s, idem, blocks)
}

// failingBlocks is a destination BlockStore that fails every Put after
// the first n.
type failingBlocks struct {
	*memstore.Blocks
	n     int
	calls atomic.Int32
}

func (b *failingBlocks) Put(ctx context.Context, key ebs.Digest, data []byte) error {
	if int(b.calls.Add(1)) > b.n {
		return errKilled
	}
	return b.Blocks.Put(ctx, key, data)
}

// TestMigrateResumes kills a migration after n snapshot imports, or after
// n block Puts, for every n; checks that the destination then holds no
// snapshot without its ancestors and no mapping without its block; and
// runs it again to completion.
func TestMigrateResumes(t *testing.T) {
	ctx := context.Background()
	src := newFixture(t)
	total := len(all(t, src.meta))
	from := stores(src.meta, src.blocks)
	full, err := migrate.Run(ctx, migrate.Options{From: from, To: stores(memstore.NewMeta(), memstore.NewBlocks())})
	if err != nil {
		t.Fatal(err)
	}
	type kill struct {
		what string
		n    int
	}
	var kills []kill
	for n := range total {
		kills = append(kills, kill{"imports", n})
	}
	for n := range int(full.BlocksPut) {
		kills = append(kills, kill{"puts", n})
	}
	for _, k := range kills {
		dm, db := memstore.NewMeta(), memstore.NewBlocks()
		to := stores(dm, db)
		killed := to
		if k.what == "imports" {
			killed.Meta = &failingMeta{Meta: dm, n: k.n}
		} else {
			killed.Blocks = &failingBlocks{Blocks: db, n: k.n}
		}
		rep, err := migrate.Run(ctx, migrate.Options{From: from, To: killed, Parallel: 1})
		if !errors.Is(err, errKilled) {
			t.Fatalf("killed after %d %s: %v, want errKilled", k.n, k.what, err)
		}
		if k.what == "imports" && rep.Imported != k.n {
			t.Errorf("killed after %d imports: %d imported", k.n, rep.Imported)
		}
		got := all(t, dm)
		for id, s := range got {
			for _, dep := range []string{s.ParentID, s.CopySourceID} {
				if _, ok := got[dep]; dep != "" && !ok {
					t.Errorf("killed after %d %s: %s was imported before %s, which it depends on", k.n, k.what, id, dep)
				}
			}
			_ = dm.OwnBlocks(ctx, id, 0, func(r store.IndexedRef) (bool, error) {
				if has, _ := db.Has(ctx, r.Ref.Key); !has && r.Ref.Digest != ebs.ZeroBlockDigest {
					t.Errorf("killed after %d %s: %s maps block %d to a key the destination lacks", k.n, k.what, id, r.Index)
				}
				return true, nil
			})
		}
		rep, err = migrate.Run(ctx, migrate.Options{From: from, To: to})
		if err != nil {
			t.Fatalf("killed after %d %s: resumed run: %v %q", k.n, k.what, err, rep.Mismatches)
		}
		if rep.Skipped != len(got) || rep.Imported != total-len(got) || rep.Differences != 0 {
			t.Errorf("killed after %d %s: resumed run %+v: want %d skipped, %d imported", k.n, k.what, rep, len(got), total-len(got))
		}
	}
}

// mutatingMeta is a destination whose imports lose or change something,
// as a buggy backend would: the check must notice.
type mutatingMeta struct {
	*memstore.Meta
	mutate func(*store.Snapshot, **store.Idempotency, *[]store.IndexedRef)
	view   func([]store.IndexedRef) []store.IndexedRef // nil: ViewBlocks is right
}

func (m *mutatingMeta) ImportSnapshot(ctx context.Context, s store.Snapshot, idem *store.Idempotency, blocks []store.IndexedRef) error {
	blocks = slices.Clone(blocks)
	if m.mutate != nil {
		m.mutate(&s, &idem, &blocks)
	}
	return m.Meta.ImportSnapshot(ctx, s, idem, blocks)
}

func (m *mutatingMeta) ViewBlocks(ctx context.Context, chain []string, start int32, limit int) ([]store.IndexedRef, error) {
	v, err := m.Meta.ViewBlocks(ctx, chain, start, limit)
	if err == nil && m.view != nil && len(chain) > 1 {
		v = m.view(v)
	}
	return v, err
}

// lossyBlocks is a destination BlockStore that drops or changes the Put of
// one key.
type lossyBlocks struct {
	*memstore.Blocks
	drop func(key ebs.Digest, data []byte) []byte // nil: drop the Put
}

func (b *lossyBlocks) Put(ctx context.Context, key ebs.Digest, data []byte) error {
	if data = b.drop(key, data); data == nil {
		return nil
	}
	return b.Blocks.Put(ctx, key, data)
}

// TestMigrateCheckFindsDifferences breaks the destination in one way per
// case and expects ErrMismatch naming what differs.
func TestMigrateCheckFindsDifferences(t *testing.T) {
	src := newFixture(t)
	grand, enc := src.ids["grandchild"], src.ids["encrypted"]
	var once atomic.Bool
	firstOnly := func(f func(key ebs.Digest, data []byte) []byte) func(ebs.Digest, []byte) []byte {
		return func(key ebs.Digest, data []byte) []byte {
			if once.CompareAndSwap(false, true) {
				return f(key, data)
			}
			return data
		}
	}
	cases := []struct {
		name   string
		mutate func(*store.Snapshot, **store.Idempotency, *[]store.IndexedRef)
		view   func([]store.IndexedRef) []store.IndexedRef
		blocks func(key ebs.Digest, data []byte) []byte
		want   string
	}{
		{name: "record field", want: "record differs", mutate: func(s *store.Snapshot, _ **store.Idempotency, _ *[]store.IndexedRef) {
			if s.ID == grand {
				s.Description = "changed"
			}
		}},
		{name: "time", want: "LastActivity", mutate: func(s *store.Snapshot, _ **store.Idempotency, _ *[]store.IndexedRef) {
			if s.ID == grand {
				s.LastActivity = s.LastActivity.Add(1)
			}
		}},
		{name: "idempotency record", want: "idempotency record", mutate: func(s *store.Snapshot, idem **store.Idempotency, _ *[]store.IndexedRef) {
			if s.ID == grand {
				*idem = nil
			}
		}},
		{name: "a mapping", want: "own mappings differ", mutate: func(s *store.Snapshot, _ **store.Idempotency, b *[]store.IndexedRef) {
			if s.ID == enc {
				*b = (*b)[1:]
			}
		}},
		{name: "lineage field", want: "Depth is 0, want 2", mutate: func(s *store.Snapshot, _ **store.Idempotency, _ *[]store.IndexedRef) {
			if s.ID == grand {
				s.Depth = 0
			}
		}},
		{name: "view through the lineage", want: "view from block 0 differs", view: func(v []store.IndexedRef) []store.IndexedRef {
			return v[:len(v)-1] // an inherited block lost, as a wrong lineage layout would
		}},
		{name: "a block lost", want: "not found", blocks: firstOnly(func(ebs.Digest, []byte) []byte { return nil })},
		{name: "a block changed", want: "reads back with SHA-256", blocks: firstOnly(func(_ ebs.Digest, d []byte) []byte {
			return append(slices.Clone(d), '!')
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			once.Store(false)
			var dm migrate.Meta = memstore.NewMeta()
			if tc.mutate != nil || tc.view != nil {
				dm = &mutatingMeta{Meta: dm.(*memstore.Meta), mutate: tc.mutate, view: tc.view}
			}
			var db store.BlockStore = memstore.NewBlocks()
			if tc.blocks != nil {
				db = &lossyBlocks{Blocks: db.(*memstore.Blocks), drop: tc.blocks}
			}
			rep, err := migrate.Run(context.Background(), migrate.Options{From: stores(src.meta, src.blocks), To: stores(dm, db)})
			if !errors.Is(err, migrate.ErrMismatch) {
				t.Fatalf("Run: %v, want ErrMismatch", err)
			}
			if !slices.ContainsFunc(rep.Mismatches, func(m string) bool { return strings.Contains(m, tc.want) }) {
				t.Errorf("mismatches %q: none says %q", rep.Mismatches, tc.want)
			}
		})
	}
}

// TestMigrateRefusesAnotherSecret stops before copying any snapshot when
// the destination holds another value under a secret's name.
func TestMigrateRefusesAnotherSecret(t *testing.T) {
	ctx := context.Background()
	src := newFixture(t)
	dm := memstore.NewMeta()
	if _, err := dm.Secret(ctx, "token-hmac-v1", func() ([]byte, error) { return []byte("other"), nil }); err != nil {
		t.Fatal(err)
	}
	rep, err := migrate.Run(ctx, migrate.Options{From: stores(src.meta, src.blocks), To: stores(dm, memstore.NewBlocks())})
	if !errors.Is(err, migrate.ErrMismatch) || !strings.Contains(err.Error(), "token-hmac-v1") || rep.Imported != 0 {
		t.Fatalf("Run: %v, %d imported; want ErrMismatch naming the secret, nothing imported", err, rep.Imported)
	}
	// A filter that skips it lets the migration through.
	_, err = migrate.Run(ctx, migrate.Options{From: stores(src.meta, src.blocks), To: stores(dm, memstore.NewBlocks()),
		CopySecret: func(name string) bool { return name != "token-hmac-v1" }})
	if err != nil {
		t.Fatalf("Run with the secret skipped: %v", err)
	}
}
