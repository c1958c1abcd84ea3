package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about ListSnapshots.

// metaListAll pages through owner's ListSnapshots limit at a time and
// returns what the pages hold, checking that no page exceeds limit and
// that each is in ascending ID order after the last ID of the one before.
func metaListAll(tb testing.TB, env *metaEnv, owner string, limit int) []store.Snapshot {
	tb.Helper()
	var all []store.Snapshot
	after := ""
	for {
		page, err := env.ms.ListSnapshots(env.ctx, owner, after, limit)
		if err != nil {
			tb.Fatalf("ListSnapshots(%s, %q, %d): %v", owner, after, limit, err)
		}
		if len(page) > limit {
			tb.Fatalf("ListSnapshots(%s, %q, %d) returned %d snapshots", owner, after, limit, len(page))
		}
		for i, s := range page {
			if s.ID <= after || i > 0 && s.ID <= page[i-1].ID {
				tb.Fatalf("ListSnapshots(%s, %q, %d) = %v: not in ascending order after %q", owner, after, limit, metaIDsOf(page), after)
			}
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		after = page[len(page)-1].ID
	}
}

func metaIDsOf(ss []store.Snapshot) []string {
	ids := []string{}
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

// metaCheckIndexes checks the per-owner indexes of the store against a
// scan of its records: for each of owners, ListSnapshots pages through
// exactly the owner's snapshots that are not deleted, in ID order, as
// GetSnapshot has them; and CreateSnapshot's limit counts exactly the
// owner's pending ones (probed with a snapshot numbered probe, deleted
// again afterwards).
func metaCheckIndexes(tb testing.TB, env *metaEnv, probe int, owners ...string) {
	tb.Helper()
	var recs []store.Snapshot
	err := env.ms.ScanSnapshots(env.ctx, func(s store.Snapshot) (bool, error) {
		recs = append(recs, s)
		return true, nil
	})
	if err != nil {
		tb.Fatalf("ScanSnapshots: %v", err)
	}
	slices.SortFunc(recs, func(a, b store.Snapshot) int { return cmp.Compare(a.ID, b.ID) })
	for _, owner := range owners {
		var want []store.Snapshot
		pending := 0
		for _, s := range recs {
			if s.OwnerID == owner && s.State != store.StateDeleted {
				want = append(want, s)
			}
			if s.OwnerID == owner && s.State.Pending() {
				pending++
			}
		}
		for _, limit := range []int{5, 1 << 20} {
			got := metaListAll(tb, env, owner, limit)
			if !slices.Equal(metaIDsOf(got), metaIDsOf(want)) {
				tb.Errorf("ListSnapshots(%s) in pages of %d =\n%v\nwant, from the records,\n%v",
					owner, limit, metaIDsOf(got), metaIDsOf(want))
				continue
			}
			for i := range got {
				metaCheckSnapshot(tb, "ListSnapshots", got[i], want[i])
			}
		}

		p := metaRoot(metaID(probe), store.StatePending)
		probe++
		p.OwnerID = owner
		if pending > 0 {
			metaWantLimit(tb, env, fmt.Sprintf("%s with %d pending", owner, pending), p, pending)
		}
		metaWantCreated(tb, env, fmt.Sprintf("%s with %d pending", owner, pending), p, pending+1)
		metaDelete(tb, env, p.ID)
	}
}

// testMetaList checks ListSnapshots' order, paging, limit, and that it
// shows neither other owners' snapshots nor deleted ones.
func testMetaList(t *testing.T, env *metaEnv) {
	rng := rand.New(rand.NewPCG(5, 6))
	states := []store.State{store.StatePending, store.StateCompleting, store.StateCompleted, store.StateError, store.StateCopying}
	var mine, theirs, deleted []string
	for _, n := range rng.Perm(40) { // created out of ID order
		s := metaRoot(metaID(10*n), states[n%len(states)])
		if n%4 == 3 {
			s.OwnerID = metaOtherOwner
		}
		metaCreate(t, env, s)
		if s.State == store.StatePending || s.State == store.StateCopying {
			metaPut(t, env, s.ID, int32(n)) // a LastActivity to return
		}
		switch {
		case s.OwnerID == metaOtherOwner:
			theirs = append(theirs, s.ID)
		case n%7 == 0:
			metaDelete(t, env, s.ID)
			deleted = append(deleted, s.ID)
		default:
			mine = append(mine, s.ID)
		}
	}
	slices.Sort(mine)
	slices.Sort(theirs)

	all, err := env.ms.ListSnapshots(env.ctx, metaOwner, "", 1000)
	if err != nil {
		t.Fatalf("ListSnapshots: %v", err)
	}
	if got := metaIDsOf(all); !slices.Equal(got, mine) {
		t.Fatalf("ListSnapshots =\n%v\nwant\n%v", got, mine)
	}
	for _, s := range all {
		metaCheckSnapshot(t, "ListSnapshots", s, metaGet(t, env, s.ID))
	}
	for _, limit := range []int{1, 3, 7, len(mine), len(mine) + 1} {
		if got := metaIDsOf(metaListAll(t, env, metaOwner, limit)); !slices.Equal(got, mine) {
			t.Errorf("ListSnapshots in pages of %d =\n%v\nwant\n%v", limit, got, mine)
		}
	}

	// after may be any string: a listed ID, a deleted one, one that never
	// existed, or none at all.
	afters := []string{"", "snap-", "a", "zzz", metaID(10*40 + 1)}
	afters = append(afters, mine[:3]...)
	afters = append(afters, deleted...)
	for n := range 40 {
		afters = append(afters, metaID(10*n+5))
	}
	for _, after := range afters {
		const limit = 4
		var want []string
		for _, id := range mine {
			if id > after && len(want) < limit {
				want = append(want, id)
			}
		}
		page, err := env.ms.ListSnapshots(env.ctx, metaOwner, after, limit)
		if got := metaIDsOf(page); err != nil || !slices.Equal(got, want) {
			t.Errorf("ListSnapshots(after %q, limit %d) = %v, %v; want %v", after, limit, got, err, want)
		}
	}
	for _, limit := range []int{0, -1} {
		if page, err := env.ms.ListSnapshots(env.ctx, metaOwner, "", limit); err != nil || len(page) != 0 {
			t.Errorf("ListSnapshots(limit %d) = %v, %v; want none", limit, metaIDsOf(page), err)
		}
	}
	if got := metaListIDs(t, env, metaOtherOwner); !slices.Equal(got, theirs) {
		t.Errorf("ListSnapshots(other owner) = %v, want %v", got, theirs)
	}
	if got := metaListIDs(t, env, "999999999999"); len(got) != 0 {
		t.Errorf("ListSnapshots(owner without snapshots) = %v, want none", got)
	}
	metaCheckIndexes(t, env, 1000, metaOwner, metaOtherOwner)
}

// testMetaListConcurrent runs creates, state changes and deletes of the
// snapshots of a few owners from several goroutines, then checks that the
// per-owner indexes agree with the records.
func testMetaListConcurrent(t *testing.T, env *metaEnv) {
	const workers, ops = 8, 40
	owners := []string{metaOwner, metaOtherOwner, "777788889999"}
	states := []store.State{store.StatePending, store.StateCompleted, store.StateCopying, store.StateError}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			var live []store.Snapshot // this worker's, not deleted
			for k := range ops {
				id := metaID(w*1000 + k)
				switch op := rng.IntN(100); {
				case op < 45 || len(live) == 0:
					s := metaRoot(id, states[rng.IntN(len(states))])
					if op < 15 && len(live) > 0 {
						// Only this worker changes its snapshots, so p's
						// state is known.
						if p := live[rng.IntN(len(live))]; p.State == store.StateCompleted {
							s = metaChild(id, p, s.State)
						}
					}
					s.OwnerID = owners[rng.IntN(len(owners))]
					if err := env.ms.CreateSnapshot(env.ctx, s, nil, 0); err != nil {
						t.Errorf("CreateSnapshot(%s): %v", s.ID, err)
						return
					}
					live = append(live, s)
				case op < 75:
					i := rng.IntN(len(live))
					if _, err := env.ms.UpdateSnapshot(env.ctx, live[i].ID, func(s *store.Snapshot) error {
						s.State, s.DeleteTime = store.StateDeleted, time.Now()
						return nil
					}); err != nil {
						t.Errorf("UpdateSnapshot(%s) to deleted: %v", live[i].ID, err)
						return
					}
					live = slices.Delete(live, i, i+1)
				default:
					i := rng.IntN(len(live))
					st := states[rng.IntN(len(states))]
					if _, err := env.ms.UpdateSnapshot(env.ctx, live[i].ID, func(s *store.Snapshot) error {
						s.State = st
						return nil
					}); err != nil {
						t.Errorf("UpdateSnapshot(%s) to %s: %v", live[i].ID, st, err)
						return
					}
					live[i].State = st
				}
			}
		})
	}
	wg.Wait()
	metaCheckIndexes(t, env, 900000, owners...)
}

// testMetaListReopen checks that the lists survive reopening.
func testMetaListReopen(t *testing.T, env *metaEnv) {
	for n := range 6 {
		s := metaRoot(metaID(n), store.StateCompleted)
		if n%2 == 1 {
			s.OwnerID = metaOtherOwner
		}
		metaCreate(t, env, s)
	}
	metaDelete(t, env, metaID(2))
	want := map[string][]store.Snapshot{}
	for _, owner := range []string{metaOwner, metaOtherOwner} {
		want[owner] = metaListAll(t, env, owner, 100)
	}
	env.reopen(t)
	for _, owner := range []string{metaOwner, metaOtherOwner} {
		got := metaListAll(t, env, owner, 100)
		if !slices.Equal(metaIDsOf(got), metaIDsOf(want[owner])) {
			t.Errorf("ListSnapshots(%s) after reopening = %v, want %v", owner, metaIDsOf(got), metaIDsOf(want[owner]))
			continue
		}
		for i := range got {
			metaCheckSnapshot(t, "ListSnapshots after reopening", got[i], want[owner][i])
		}
	}
	metaCheckIndexes(t, env, 100, metaOwner, metaOtherOwner)
}
