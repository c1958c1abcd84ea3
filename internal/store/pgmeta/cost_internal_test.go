package pgmeta

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/store"
)

// costTracer counts what a store sends and gets: round trips (a query or
// a batch each; a statement's first Prepare on a connection is not
// counted) and the rows of their results.
type costTracer struct {
	mu         sync.Mutex
	roundTrips int
	rows       int64
}

func (c *costTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	c.roundTrips++
	c.mu.Unlock()
	return ctx
}

func (c *costTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	c.mu.Lock()
	c.rows += d.CommandTag.RowsAffected()
	c.mu.Unlock()
}

func (c *costTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	c.roundTrips++
	c.mu.Unlock()
	return ctx
}

func (c *costTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.mu.Lock()
	c.rows += d.CommandTag.RowsAffected()
	c.mu.Unlock()
}

func (c *costTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// take returns the counts since the last take and resets them.
func (c *costTracer) take() (roundTrips int, rows int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	roundTrips, rows = c.roundTrips, c.rows
	c.roundTrips, c.rows = 0, 0
	return roundTrips, rows
}

// openTraced opens a store on a fresh database through a pool that counts
// with the returned tracer.
func openTraced(t *testing.T) (*Store, *costTracer) {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	tr := &costTracer{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := Open(ctx, Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, tr
}

// TestPutBlockOneRoundTrip checks that a PutBlock, a first write or a
// replacement, is one round trip to the server: one statement that
// commits (it was five or more: BEGIN, the locks, the upsert, the usage,
// COMMIT).
func TestPutBlockOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, tr := openTraced(t)
	const id = "snap-000000000000000a1"
	if err := s.CreateSnapshot(ctx, store.Snapshot{ID: id, OwnerID: "111122223333", State: store.StatePending, RootID: id}, nil, 0); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name  string
		index int32
	}{
		{"first write", 1}, {"replacement", 1}, {"another first write", 2}, {"another replacement", 2},
	} {
		tr.take()
		ref := costRef(id, tc.index, i)
		if err := s.PutBlock(ctx, id, tc.index, ref, time.Now()); err != nil {
			t.Fatalf("%s: PutBlock: %v", tc.name, err)
		}
		if n, _ := tr.take(); n != 1 {
			t.Errorf("%s: PutBlock took %d round trips, want 1", tc.name, n)
		}
	}
}

// TestViewCostFollowsPage reads pages of views, written indexes and own
// changes through chains of a deep lineage tree (with descendants and
// another branch that the chains do not read) and checks each page
// against a model, and that the rows fetched grow with the page and the chain's length, not with the
// tree's size or the members' sizes: at most 3·limit + 8·len(chain) + 8
// per page (a first round of each member's share of the page, then the
// doublings of a member that fills the page alone), in at most
// 2 + log2(limit) round trips. Some members write
// evenly over the volume, one writes a dense run (the merge has to go
// back to it for more), one nothing.
func TestViewCostFollowsPage(t *testing.T) {
	ctx := context.Background()
	s, tr := openTraced(t)
	tree := newCostTree(t, s)

	rng := rand.New(rand.NewPCG(7, 8))
	deep := tree.chain(tree.main[len(tree.main)-1])
	for _, tc := range []struct {
		name  string
		chain []string
	}{
		{"one snapshot", deep[len(deep)-1:]},
		{"two", deep[len(deep)-2:]},
		{"ten, with a dense run", deep[len(deep)-10:]},
		{"the whole depth", deep},
		{"a branch", tree.chain(tree.branch)},
	} {
		for _, limit := range []int{1, 7, 100, 1000} {
			starts := []int32{0, rng.Int32N(costVolume), costVolume - 50, tree.denseStart - 3}
			for _, start := range starts {
				want := tree.view(tc.chain, start, limit)

				tr.take()
				got, err := s.ViewBlocks(ctx, tc.chain, start, limit)
				trips, rows := tr.take()
				if err != nil {
					t.Fatalf("%s: ViewBlocks(start %d, limit %d): %v", tc.name, start, limit, err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: ViewBlocks(start %d, limit %d) = %d blocks, want %d (first difference at %d)",
						tc.name, start, limit, len(got), len(want), firstDiff(got, want))
				}
				costCheck(t, tc.name+": ViewBlocks", start, limit, len(tc.chain), trips, rows)

				tr.take()
				idx, err := s.WrittenIndexes(ctx, tc.chain, start, limit)
				trips, rows = tr.take()
				if err != nil {
					t.Fatalf("%s: WrittenIndexes(start %d, limit %d): %v", tc.name, start, limit, err)
				}
				var wantIdx []int32
				for _, r := range want {
					wantIdx = append(wantIdx, r.Index)
				}
				if !slices.Equal(idx, wantIdx) {
					t.Fatalf("%s: WrittenIndexes(start %d, limit %d) = %d indexes, want %d", tc.name, start, limit, len(idx), len(wantIdx))
				}
				costCheck(t, tc.name+": WrittenIndexes", start, limit, len(tc.chain), trips, rows)

				// OwnChanges is the same merge: the same mappings and
				// cost, whatever the depth of the chain below it.
				tr.take()
				own, err := s.OwnChanges(ctx, tc.chain, start, limit)
				trips, rows = tr.take()
				if err != nil {
					t.Fatalf("%s: OwnChanges(start %d, limit %d): %v", tc.name, start, limit, err)
				}
				ownRefs := make([]store.IndexedRef, len(own))
				for i, c := range own {
					ownRefs[i] = store.IndexedRef{Index: c.Index, Ref: c.Ref}
				}
				if !slices.Equal(ownRefs, want) {
					t.Fatalf("%s: OwnChanges(start %d, limit %d) = %d indexes, want %d (first difference at %d)",
						tc.name, start, limit, len(ownRefs), len(want), firstDiff(ownRefs, want))
				}
				costCheck(t, tc.name+": OwnChanges", start, limit, len(tc.chain), trips, rows)
			}
		}
	}
}

func costCheck(t *testing.T, what string, start int32, limit, chain, trips int, rows int64) {
	t.Helper()
	maxRows := int64(3*limit + 8*chain + 8)
	maxTrips := 2
	for l := limit; l > 1; l /= 2 {
		maxTrips++
	}
	if rows > maxRows || trips > maxTrips {
		t.Errorf("%s(start %d, limit %d), chain of %d: %d rows in %d round trips, want at most %d rows in %d",
			what, start, limit, chain, rows, trips, maxRows, maxTrips)
	}
}

func firstDiff(a, b []store.IndexedRef) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// costVolume is the volume's size in blocks (a 512 GiB volume).
const costVolume = 1 << 20

// costTree is a lineage tree written straight into the tables (the reads
// are under test), with a model of what each snapshot wrote.
type costTree struct {
	parent     map[string]string
	own        map[string]map[int32]store.BlockRef
	main       []string // root first, 30 deep
	branch     string   // the tip of a branch off main[10]
	denseStart int32    // main[25] wrote [denseStart, denseStart+3000)
}

func newCostTree(t *testing.T, s *Store) *costTree {
	t.Helper()
	ctx := context.Background()
	tree := &costTree{parent: map[string]string{}, own: map[string]map[int32]store.BlockRef{}, denseStart: 300000}
	rng := rand.New(rand.NewPCG(5, 6))
	n := 0
	add := func(parent string, indexes []int32) string {
		n++
		id := fmt.Sprintf("snap-%017x", 0xc057+n)
		snap := store.Snapshot{ID: id, OwnerID: "111122223333", State: store.StatePending, RootID: id}
		if parent != "" {
			p, err := s.GetSnapshot(ctx, parent)
			if err != nil {
				t.Fatal(err)
			}
			snap.ParentID, snap.RootID, snap.Depth = parent, p.RootID, p.Depth+1
		}
		if err := s.CreateSnapshot(ctx, snap, nil, 0); err != nil {
			t.Fatal(err)
		}
		own := map[int32]store.BlockRef{}
		var rows [][]any
		for _, i := range indexes {
			if _, dup := own[i]; dup {
				continue
			}
			ref := costRef(id, i, 0)
			own[i] = ref
			rows = append(rows, []any{id, i, snap.RootID, snap.Depth, ref.Digest[:], ref.Key[:], int64(n), int64(n)})
		}
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"writes"},
			[]string{"snapshot_id", "block_index", "root_id", "depth", "digest", "key", "written_at", "seq"},
			pgx.CopyFromRows(rows)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateSnapshot(ctx, id, func(r *store.Snapshot) error { r.State = store.StateCompleted; return nil }); err != nil {
			t.Fatal(err)
		}
		tree.parent[id], tree.own[id] = parent, own
		return id
	}
	random := func(k int) []int32 {
		out := make([]int32, k)
		for i := range out {
			out[i] = rng.Int32N(costVolume)
		}
		return out
	}
	parent := ""
	for level := range 30 {
		var indexes []int32
		switch level {
		case 25: // a dense run and little else
			for i := range int32(3000) {
				indexes = append(indexes, tree.denseStart+i)
			}
			indexes = append(indexes, random(20)...)
		case 27: // nothing
		default:
			indexes = random(600)
		}
		indexes = append(indexes, costVolume-1-int32(level%3)) // the last indexes, shared
		parent = add(parent, indexes)
		tree.main = append(tree.main, parent)
		if level == 10 {
			b := parent
			for range 5 {
				b = add(b, random(2000))
			}
			tree.branch = b
		}
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	return tree
}

// chain returns id's chain, nearest first.
func (tree *costTree) chain(id string) []string {
	var c []string
	for ; id != ""; id = tree.parent[id] {
		c = append(c, id)
	}
	return c
}

// view is the model's ViewBlocks.
func (tree *costTree) view(chain []string, start int32, limit int) []store.IndexedRef {
	seen := map[int32]bool{}
	var all []store.IndexedRef
	for _, id := range chain {
		for i, ref := range tree.own[id] {
			if i >= start && !seen[i] {
				seen[i] = true
				all = append(all, store.IndexedRef{Index: i, Ref: ref})
			}
		}
	}
	slices.SortFunc(all, func(a, b store.IndexedRef) int { return int(a.Index) - int(b.Index) })
	if len(all) > limit {
		all = all[:limit]
	}
	return all
}

func costRef(id string, index int32, salt int) store.BlockRef {
	d := sha256.Sum256(fmt.Appendf(nil, "%s %d %d", id, index, salt))
	k := sha256.Sum256(d[:])
	return store.BlockRef{Digest: d, Key: k}
}
