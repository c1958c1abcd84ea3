package storetest

import (
	"maps"
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/store"
)

// testMetaOwnChanges checks store.OwnChangeLister, for a backend that has
// it: for every completed snapshot of a tree and every ancestor of it as
// the common ancestor, OwnChanges of the snapshots between them gives the
// nearest writer's mapping of each index they wrote and, when Known, the
// common ancestor's view of it; some must be Known (a backend that records
// nothing has no use for the capability). It holds again once an ancestor
// is a tombstone, and after a reopen.
func testMetaOwnChanges(t *testing.T, env *metaEnv) {
	if _, ok := env.ms.(store.OwnChangeLister); !ok {
		t.Skip("the store has no OwnChanges")
	}
	l := newMetaTree(t, env)
	check := func(step string) {
		t.Helper()
		cl := env.ms.(store.OwnChangeLister)
		known := 0
		for _, id := range l.ids {
			if metaGet(t, env, id).State != store.StateCompleted {
				continue
			}
			chain := l.chain(id)
			for k := 1; k < len(chain); k++ {
				own, ca := chain[:k], chain[k]
				indexes := map[int32]bool{}
				for _, o := range own {
					for i := range l.own[o] {
						indexes[i] = true
					}
				}
				var want []store.OwnChange
				for _, i := range slices.Sorted(maps.Keys(indexes)) {
					w := store.OwnChange{Index: i}
					for _, o := range own {
						if ref, ok := l.own[o][i]; ok {
							w.Ref = ref
							break
						}
					}
					w.Replaced, w.Replaces = l.resolve(ca, i)
					want = append(want, w)
				}
				for _, start := range []int32{0, 4} {
					for _, limit := range []int{1, 1000} {
						got, err := cl.OwnChanges(env.ctx, own, start, limit)
						if err != nil {
							t.Fatalf("%s: OwnChanges(%v, %d, %d): %v", step, own, start, limit, err)
						}
						from, _ := slices.BinarySearchFunc(want, start, func(o store.OwnChange, i int32) int { return int(o.Index - i) })
						w := want[from:min(len(want), from+limit)]
						if len(got) != len(w) {
							t.Fatalf("%s: OwnChanges(%v, %d, %d) = %v; want %v", step, own, start, limit, got, w)
						}
						for n, g := range got {
							if g.Known {
								known++
							} else {
								g.Replaced, g.Replaces = w[n].Replaced, w[n].Replaces // not checked
							}
							g.Known = false
							if g != w[n] {
								t.Errorf("%s: OwnChanges(%v, %d, %d)[%d] = %+v; want %+v", step, own, start, limit, n, g, w[n])
							}
						}
					}
				}
			}
		}
		if known == 0 {
			t.Errorf("%s: OwnChanges knew no replaced mapping", step)
		}
	}
	check("completed")
	metaSetState(t, env, metaID(3), store.StateDeleted) // a parent and grandparent
	check("ancestor deleted")
	if !env.volatile {
		env.reopen(t)
		check("reopened")
	}
}
