package snapshot_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
	"github.com/ebsd/ebsd/internal/store/pgmeta"
)

// TestChangedBlocksModel checks ListChangedBlocks against a naive model
// over random lineage trees, on the three MetaStores (pgmeta on a
// throwaway PostgreSQL, skipped where none is installed): every pair of readable
// snapshots of a tree, in both orders (ancestors, descendants, siblings,
// cousins, a snapshot and itself), paged with random page sizes and
// starting indexes, after deleting some snapshots that have children
// (their tombstones still hold the blocks their children read). The
// model: the changed indexes are those written by the snapshots between
// each side and the lowest common ancestor; each side has a token when
// its view holds the index, and that token reads the side's block.
//
// On pebblemeta and pgmeta, which record at completion what each write
// replaced (store.OwnChangeLister), about half of the snapshots are made
// by the store opened with SkipReplaced, as a store before those records made
// them, so that pairs compare through a mix of snapshots with and without
// them: the fallback to ResolveBlocks is checked per index, next to the
// records.
func TestChangedBlocksModel(t *testing.T) {
	backends := []struct {
		name string
		// open returns a store over the same data at each call; old asks
		// for one that records no replaced mappings. Nil: no such mode.
		open func(t *testing.T) func(old bool) store.MetaStore
	}{
		{"memstore", func(*testing.T) func(bool) store.MetaStore {
			m := memstore.NewMeta()
			return func(bool) store.MetaStore { return m }
		}},
		{"pebblemeta", func(t *testing.T) func(bool) store.MetaStore {
			fs := vfs.NewMem()
			var cur *pebblemeta.Store
			t.Cleanup(func() { cur.Close() })
			return func(old bool) store.MetaStore {
				if cur != nil {
					if err := cur.Close(); err != nil {
						t.Fatal(err)
					}
				}
				m, err := pebblemeta.Open(context.Background(), pebblemeta.Options{Dir: "/meta", FS: fs, SkipReplaced: old})
				if err != nil {
					t.Fatal(err)
				}
				cur = m
				return m
			}
		}},
		{"pgmeta", func(t *testing.T) func(bool) store.MetaStore {
			dsn := pgDSN(t)
			var cur *pgmeta.Store
			t.Cleanup(func() {
				if cur != nil {
					cur.Close()
				}
			})
			return func(old bool) store.MetaStore {
				if cur != nil {
					if err := cur.Close(); err != nil {
						t.Fatal(err)
					}
				}
				m, err := pgmeta.Open(context.Background(), pgmeta.Options{DSN: dsn, SkipReplaced: old})
				if err != nil {
					t.Fatal(err)
				}
				cur = m
				return m
			}
		}},
	}
	for _, be := range backends {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", be.name, seed), func(t *testing.T) {
				open, blocks := be.open(t), memstore.NewBlocks()
				mode, svc := false, (*snapshot.Service)(nil)
				// svcAs returns a service on the store in mode old,
				// reopening the store when the mode changes.
				svcAs := func(old bool) *snapshot.Service {
					if svc != nil && old == mode {
						return svc
					}
					s, err := snapshot.New(context.Background(), snapshot.Options{
						Meta: open(old), Blocks: blocks, Logger: slog.New(slog.DiscardHandler)})
					if err != nil {
						t.Fatal(err)
					}
					mode, svc = old, s
					return s
				}
				m := buildModel(t, svcAs, rand.New(rand.NewPCG(seed, 14)))
				m.check(t, svcAs(false), rand.New(rand.NewPCG(seed, 41)))
			})
		}
	}
}

// modelBlocks are the contents a model writes: a few, so that the block
// store deduplicates them; 0 is the zero block (a write, like any other).
var modelBlocks = func() [][]byte {
	b := [][]byte{zero()}
	for i := 1; i < 8; i++ {
		b = append(b, payload(fmt.Sprint("model-", i)))
	}
	return b
}()

// modelSnap is a snapshot of the model.
type modelSnap struct {
	id      string
	parent  int           // position in model.snaps; -1 for a root
	own     map[int32]int // index -> content, written by the snapshot itself
	deleted bool
}

type model struct {
	snaps []modelSnap
	lcas  []int // the common ancestors of the pairs compared
}

// buildModel makes 2 trees of random snapshots, each the child of a random
// earlier one of its tree, with random writes (some far apart, for the
// merges), then deletes about half of those that have children. It makes
// each snapshot with svcAs(old), old at random: a service on a store that
// records no replaced mappings when old.
func buildModel(t *testing.T, svcAs func(old bool) *snapshot.Service, r *rand.Rand) *model {
	t.Helper()
	ctx := context.Background()
	m := &model{}
	var roots []int
	olds := 0
	for n := range 12 {
		old := r.IntN(2) == 0
		if old {
			olds++
		}
		svc := svcAs(old)
		parent := -1
		if n >= 2 { // two roots, then children anywhere
			parent = r.IntN(n)
		}
		in := snapshot.StartInput{AccountID: account, VolumeSize: p(int64(1))}
		if parent >= 0 {
			in.ParentSnapshotID = &m.snaps[parent].id
		}
		out, err := svc.StartSnapshot(ctx, in)
		if err != nil {
			t.Fatalf("StartSnapshot: %v", err)
		}
		s := modelSnap{id: out.SnapshotID, parent: parent, own: map[int32]int{}}
		for range r.IntN(30) {
			index := int32(r.IntN(320))
			if r.IntN(10) == 0 {
				index = int32(2048 - 1 - r.IntN(4))
			}
			s.own[index] = r.IntN(len(modelBlocks))
		}
		for index, c := range s.own {
			data := modelBlocks[c]
			if _, err := svc.PutSnapshotBlock(ctx, snapshot.PutBlockInput{
				AccountID: account, SnapshotID: s.id, BlockIndex: fmt.Sprint(index),
				DataLength: p(fmt.Sprint(len(data))), Checksum: p(ebs.Sum(data).String()),
				ChecksumAlgorithm: p("SHA256"), Body: bytes.NewReader(data),
			}); err != nil {
				t.Fatalf("PutSnapshotBlock: %v", err)
			}
		}
		c := snapshot.CompleteInput{AccountID: account, SnapshotID: s.id, ChangedBlocksCount: p(fmt.Sprint(len(s.own)))}
		for range 2 {
			if _, err := svc.CompleteSnapshot(ctx, c); err != nil {
				t.Fatalf("CompleteSnapshot: %v", err)
			}
		}
		if parent < 0 {
			roots = append(roots, n)
		}
		m.snaps = append(m.snaps, s)
	}
	if olds == 0 || olds == len(m.snaps) {
		t.Fatalf("%d of %d snapshots made without replaced mappings: the seed does not mix them", olds, len(m.snaps))
	}
	svc := svcAs(r.IntN(2) == 0)
	for i := range m.snaps {
		if m.hasChildren(i) && r.IntN(2) == 0 {
			if err := svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: account, SnapshotID: &m.snaps[i].id}); err != nil {
				t.Fatalf("DeleteSnapshot: %v", err)
			}
			m.snaps[i].deleted = true
		}
	}
	return m
}

func (m *model) hasChildren(i int) bool {
	for _, s := range m.snaps {
		if s.parent == i {
			return true
		}
	}
	return false
}

// chain returns i and its ancestors, nearest first.
func (m *model) chain(i int) []int {
	var c []int
	for ; i >= 0; i = m.snaps[i].parent {
		c = append(c, i)
	}
	return c
}

// view returns the content of index in snapshot i's view.
func (m *model) view(i int, index int32) (int, bool) {
	for _, k := range m.chain(i) {
		if c, ok := m.snaps[k].own[index]; ok {
			return c, true
		}
	}
	return 0, false
}

// modelChange is what the model expects of one changed index.
type modelChange struct {
	first, second     int
	inFirst, inSecond bool
}

// changed returns the model's changed indexes >= start between a and b,
// or ok=false when they share no ancestor.
func (m *model) changed(a, b int, start int32) (map[int32]modelChange, bool) {
	ca, cb := m.chain(a), m.chain(b)
	lca := -1
	for _, x := range ca {
		if slices.Contains(cb, x) {
			lca = x
			break
		}
	}
	if lca < 0 {
		return nil, false
	}
	m.lcas = append(m.lcas, lca)
	out := map[int32]modelChange{}
	for _, side := range [][]int{ca, cb} {
		for _, k := range side[:slices.Index(side, lca)] {
			for index := range m.snaps[k].own {
				if index < start {
					continue
				}
				var c modelChange
				c.first, c.inFirst = m.view(a, index)
				c.second, c.inSecond = m.view(b, index)
				out[index] = c
			}
		}
	}
	return out, true
}

// check compares every pair of readable snapshots with the model.
func (m *model) check(t *testing.T, svc *snapshot.Service, r *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	pageSizes := []string{"100", "137", "10000"}
	gets := 0
	for a := range m.snaps {
		for b := range m.snaps {
			if m.snaps[a].deleted || m.snaps[b].deleted {
				continue
			}
			var start int32
			if r.IntN(4) == 0 {
				start = int32(r.IntN(320))
			}
			want, related := m.changed(a, b, start)
			first, second := m.snaps[a].id, m.snaps[b].id
			in := snapshot.ListChangedInput{AccountID: account, FirstSnapshotID: &first, SecondSnapshotID: second,
				MaxResults: p(pageSizes[r.IntN(len(pageSizes))]), StartingBlockIndex: p(fmt.Sprint(start))}
			got := map[int32]snapshot.ChangedBlock{}
			var order []int32
			for pages := 0; ; pages++ {
				out, err := svc.ListChangedBlocks(ctx, in)
				if !related {
					if err == nil {
						t.Fatalf("ListChangedBlocks(%d, %d) of unrelated snapshots: no error", a, b)
					}
					break
				}
				if err != nil {
					t.Fatalf("ListChangedBlocks(%d, %d): %v", a, b, err)
				}
				for _, c := range out.ChangedBlocks {
					got[c.BlockIndex] = c
					order = append(order, c.BlockIndex)
				}
				if out.NextToken == "" {
					break
				}
				if pages > 20 {
					t.Fatalf("ListChangedBlocks(%d, %d): more than 20 pages", a, b)
				}
				in.NextToken = &out.NextToken
			}
			if !related {
				continue
			}
			if !slices.IsSorted(order) || len(order) != len(got) {
				t.Errorf("ListChangedBlocks(%d, %d): indexes not ascending and distinct across pages: %v", a, b, order)
			}
			if len(got) != len(want) {
				t.Errorf("ListChangedBlocks(%d, %d) from %d: %d changed, the model says %d", a, b, start, len(got), len(want))
			}
			for index, w := range want {
				c, ok := got[index]
				switch {
				case !ok:
					t.Errorf("ListChangedBlocks(%d, %d): index %d missing", a, b, index)
					continue
				case (c.FirstBlockToken != "") != w.inFirst || (c.SecondBlockToken != "") != w.inSecond:
					t.Errorf("ListChangedBlocks(%d, %d): index %d has tokens %v/%v, the model says %v/%v",
						a, b, index, c.FirstBlockToken != "", c.SecondBlockToken != "", w.inFirst, w.inSecond)
					continue
				}
				// Each token reads its side's block (a sample: reads copy
				// a block each).
				if r.IntN(8) != 0 {
					continue
				}
				gets++
				if w.inFirst {
					checkRead(t, svc, first, index, c.FirstBlockToken, w.first)
				}
				if w.inSecond {
					checkRead(t, svc, second, index, c.SecondBlockToken, w.second)
				}
			}
		}
	}
	if gets == 0 {
		t.Error("no block read back: the model checked no token")
	}
	tombstones := 0
	for _, lca := range m.lcas {
		if m.snaps[lca].deleted {
			tombstones++
		}
	}
	t.Logf("%d pairs compared, %d through a deleted common ancestor", len(m.lcas), tombstones)
	if tombstones == 0 {
		t.Error("no pair compared through a deleted common ancestor: the seed does not cover tombstones")
	}
}

// checkRead reads index of snapshot id with tok and checks it is content
// want of modelBlocks.
func checkRead(t *testing.T, svc *snapshot.Service, id string, index int32, tok string, want int) {
	t.Helper()
	out, err := svc.GetSnapshotBlock(context.Background(), snapshot.GetBlockInput{
		AccountID: account, SnapshotID: id, BlockIndex: fmt.Sprint(index), BlockToken: &tok})
	if err != nil {
		t.Fatalf("GetSnapshotBlock(%s, %d): %v", id, index, err)
	}
	defer out.Release()
	if out.Checksum != ebs.Sum(modelBlocks[want]).String() {
		t.Errorf("GetSnapshotBlock(%s, %d) with the changed token: not the block of that snapshot's view", id, index)
	}
}
