package storetest

import (
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about reads through a lineage: ViewBlocks and ResolveBlocks. They
// compare the store with metaLineage, a model that resolves every index by
// walking the chain.

// metaLineage is a lineage tree built in a store, with what each snapshot
// wrote.
type metaLineage struct {
	env    *metaEnv
	parent map[string]string
	own    map[string]map[int32]store.BlockRef
	ids    []string // in creation order
}

func newMetaLineage(env *metaEnv) *metaLineage {
	return &metaLineage{env: env, parent: map[string]string{}, own: map[string]map[int32]store.BlockRef{}}
}

// add creates snapshot n as a child of parent ("" for a root), which must
// be completed, and writes indexes in it before moving it to state.
func (l *metaLineage) add(tb testing.TB, n int, parent string, state store.State, indexes ...int32) string {
	tb.Helper()
	s := metaRoot(metaID(n), store.StatePending)
	if parent != "" {
		s = metaChild(s.ID, metaGet(tb, l.env, parent), store.StatePending)
	}
	metaCreate(tb, l.env, s)
	l.parent[s.ID] = parent
	l.own[s.ID] = map[int32]store.BlockRef{}
	l.ids = append(l.ids, s.ID)
	l.write(tb, s.ID, indexes...)
	if state != store.StatePending {
		metaSetState(tb, l.env, s.ID, state)
	}
	return s.ID
}

// write maps indexes of pending snapshot id to metaRef(id, index).
func (l *metaLineage) write(tb testing.TB, id string, indexes ...int32) {
	tb.Helper()
	metaPut(tb, l.env, id, indexes...)
	for _, i := range indexes {
		l.own[id][i] = metaRef(id, i)
	}
}

// writeMany is write from 16 goroutines, for trees with many blocks.
func (l *metaLineage) writeMany(tb testing.TB, id string, indexes ...int32) {
	tb.Helper()
	work := make(chan int32)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if err := l.env.ms.PutBlock(l.env.ctx, id, i, metaRef(id, i), time.Now()); err != nil {
					tb.Errorf("PutBlock(%s, %d): %v", id, i, err)
				}
			}
		})
	}
	for _, i := range indexes {
		work <- i
		l.own[id][i] = metaRef(id, i)
	}
	close(work)
	wg.Wait()
}

// chain returns id and its ancestors, nearest first.
func (l *metaLineage) chain(id string) []string {
	var chain []string
	for ; id != ""; id = l.parent[id] {
		chain = append(chain, id)
	}
	return chain
}

// resolve returns the mapping of index in id's view.
func (l *metaLineage) resolve(id string, index int32) (store.BlockRef, bool) {
	for _, c := range l.chain(id) {
		if ref, ok := l.own[c][index]; ok {
			return ref, true
		}
	}
	return store.BlockRef{}, false
}

// view returns id's whole view.
func (l *metaLineage) view(id string) []store.IndexedRef {
	indexes := map[int32]bool{}
	for _, c := range l.chain(id) {
		for i := range l.own[c] {
			indexes[i] = true
		}
	}
	var out []store.IndexedRef
	for _, i := range slices.Sorted(maps.Keys(indexes)) {
		ref, _ := l.resolve(id, i)
		out = append(out, store.IndexedRef{Index: i, Ref: ref})
	}
	return out
}

// newMetaTree builds a tree where siblings, cousins, descendants and an
// unrelated root all write indexes that a chain also writes, so that any
// leak between branches shows. Sibling IDs sort both ways round.
func newMetaTree(tb testing.TB, env *metaEnv) *metaLineage {
	tb.Helper()
	l := newMetaLineage(env)
	r := l.add(tb, 1, "", store.StateCompleted, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	s := l.add(tb, 2, r, store.StateCompleted, 2, 4, 13, 14)       // sibling of c, sorts before it
	c := l.add(tb, 3, r, store.StateCompleted, 2, 3, 12, 20)       // sibling of s
	l.add(tb, 4, s, store.StateCompleted, 3, 15)                   // cousin of g, sorts before it
	g := l.add(tb, 5, c, store.StateCompleted, 3, 5, 14)           // grandchild
	l.add(tb, 6, g, store.StatePending, 0, 1, 15, 21)              // great-grandchild
	l.add(tb, 7, "", store.StateCompleted, 0, 1, 2, 3, 12, 21, 30) // unrelated root
	l.add(tb, 8, c, store.StateCompleted)                          // wrote nothing
	return l
}

func testMetaViewNearestWriter(t *testing.T, env *metaEnv) {
	l := newMetaTree(t, env)
	for _, id := range l.ids {
		chain := l.chain(id)
		got, err := env.ms.ViewBlocks(env.ctx, chain, 0, 1000)
		if want := l.view(id); err != nil || !slices.Equal(got, want) {
			t.Errorf("ViewBlocks(%v) =\n%v, %v\nwant\n%v", chain, got, err, want)
		}
	}
}

func testMetaViewPaging(t *testing.T, env *metaEnv) {
	l := newMetaTree(t, env)
	for _, id := range l.ids {
		chain, want := l.chain(id), l.view(id)
		for _, limit := range []int{1, 2, 3, 7} {
			var all []store.IndexedRef
			for start := int32(0); ; {
				page, err := env.ms.ViewBlocks(env.ctx, chain, start, limit)
				if err != nil {
					t.Fatalf("ViewBlocks(%v, %d, %d): %v", chain, start, limit, err)
				}
				if len(page) > limit {
					t.Fatalf("ViewBlocks(%v, %d, %d) returned %d blocks", chain, start, limit, len(page))
				}
				all = append(all, page...)
				if len(page) < limit {
					break
				}
				start = page[len(page)-1].Index + 1
			}
			if !slices.Equal(all, want) {
				t.Errorf("ViewBlocks(%v) in pages of %d =\n%v\nwant\n%v", chain, limit, all, want)
			}
		}
		for _, start := range []int32{1, 4, 13, 22} {
			got, err := env.ms.ViewBlocks(env.ctx, chain, start, 3)
			var w []store.IndexedRef
			for _, r := range want {
				if r.Index >= start && len(w) < 3 {
					w = append(w, r)
				}
			}
			if err != nil || !slices.Equal(got, w) {
				t.Errorf("ViewBlocks(%v, %d, 3) = %v, %v; want %v", chain, start, got, err, w)
			}
		}
	}
}

func testMetaResolveNearestWriter(t *testing.T, env *metaEnv) {
	l := newMetaTree(t, env)
	all := make([]int32, 32)
	for i := range all {
		all[i] = int32(i)
	}
	for _, id := range l.ids {
		chain := l.chain(id)
		for _, indexes := range [][]int32{all, {3, 14, 21}, {15}, {metaMaxIndex}, {}} {
			refs, found, err := env.ms.ResolveBlocks(env.ctx, chain, indexes)
			if err != nil {
				t.Fatalf("ResolveBlocks(%v, %v): %v", chain, indexes, err)
			}
			if len(refs) != len(indexes) || len(found) != len(indexes) {
				t.Fatalf("ResolveBlocks(%v, %v) returned %d refs and %d founds", chain, indexes, len(refs), len(found))
			}
			for i, index := range indexes {
				want, ok := l.resolve(id, index)
				if found[i] != ok || (ok && refs[i] != want) {
					t.Errorf("ResolveBlocks(%v) of %d = %v, %v; want %v, %v", chain, index, refs[i], found[i], want, ok)
				}
			}
		}
	}
}

func testMetaViewPendingChild(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	p := l.add(t, 1, "", store.StateCompleted, 1, 2, 3)
	c := l.add(t, 2, p, store.StatePending)
	check := func(step string) {
		t.Helper()
		for _, id := range []string{p, c} {
			got, err := env.ms.ViewBlocks(env.ctx, l.chain(id), 0, 100)
			if want := l.view(id); err != nil || !slices.Equal(got, want) {
				t.Errorf("%s: ViewBlocks(%v) = %v, %v; want %v", step, l.chain(id), got, err, want)
			}
		}
	}
	check("no writes yet")
	l.write(t, c, 2, 4)
	check("after writes")
	l.write(t, c, 2)
	check("after an overwrite")
}

func testMetaViewSeparateRoots(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	a := l.add(t, 1, "", store.StateCompleted, 0, 1, 2)
	b := l.add(t, 2, "", store.StateCompleted, 1, 2, 3)
	ac := l.add(t, 3, a, store.StatePending, 2, 5)
	bc := l.add(t, 4, b, store.StatePending, 0, 5)
	for _, id := range []string{a, b, ac, bc} {
		got, err := env.ms.ViewBlocks(env.ctx, l.chain(id), 0, 100)
		if want := l.view(id); err != nil || !slices.Equal(got, want) {
			t.Errorf("ViewBlocks(%v) = %v, %v; want %v", l.chain(id), got, err, want)
		}
	}
}

// testMetaViewShallowInDeepTree reads the views of snapshots near the root
// of a tree whose descendants and siblings wrote many more blocks than
// they did, which a backend may answer differently (see pebblemeta).
func testMetaViewShallowInDeepTree(t *testing.T, env *metaEnv) {
	l := newMetaLineage(env)
	var every, pairs, third, some []int32
	for i := range int32(600) {
		every = append(every, i)
		if i%10 < 2 {
			pairs = append(pairs, i)
		}
		if i%3 == 0 {
			third = append(third, i)
		}
		if i%50 == 7 || i%97 == 0 {
			some = append(some, i)
		}
	}
	r := l.add(t, 1, "", store.StatePending)
	l.writeMany(t, r, pairs...)
	metaSetState(t, env, r, store.StateCompleted)
	c := l.add(t, 2, r, store.StatePending, some...) // overwrites some of r's
	metaSetState(t, env, c, store.StateCompleted)
	sib := l.add(t, 3, r, store.StatePending)
	l.writeMany(t, sib, every...)
	d := l.add(t, 4, c, store.StatePending)
	l.writeMany(t, d, every...)
	metaSetState(t, env, d, store.StateCompleted)
	e := l.add(t, 5, d, store.StatePending)
	l.writeMany(t, e, third...)

	for _, id := range []string{r, c, sib, d, e} {
		chain, want := l.chain(id), l.view(id)
		for _, limit := range []int{1000, 50} {
			var all []store.IndexedRef
			for start := int32(0); ; {
				page, err := env.ms.ViewBlocks(env.ctx, chain, start, limit)
				if err != nil {
					t.Fatalf("ViewBlocks(%v, %d, %d): %v", chain, start, limit, err)
				}
				all = append(all, page...)
				if len(page) < limit {
					break
				}
				start = page[len(page)-1].Index + 1
			}
			if !slices.Equal(all, want) {
				t.Errorf("ViewBlocks(%v) in pages of %d: %d blocks, want %d (first difference at %d)",
					chain, limit, len(all), len(want), metaFirstDiff(all, want))
			}
		}
		refs, found, err := env.ms.ResolveBlocks(env.ctx, chain, every)
		if err != nil {
			t.Fatalf("ResolveBlocks(%v): %v", chain, err)
		}
		for i, index := range every {
			if want, ok := l.resolve(id, index); found[i] != ok || refs[i] != want {
				t.Errorf("ResolveBlocks(%v) of %d = %v, %v; want %v, %v", chain, index, refs[i], found[i], want, ok)
			}
		}
	}
}

// metaFirstDiff returns the first position where a and b differ.
func metaFirstDiff(a, b []store.IndexedRef) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
