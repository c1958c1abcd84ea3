package storetest

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about CreateSnapshot's precondition on the snapshots a new one is
// made from: its parent and the source of a copy must exist and be
// completed at the commit (docs/gc.md I4).

// metaWithSource returns a record of snapshot id made from src: as a
// child (ParentID), as a copy in a new lineage (CopySourceID), or as a
// lineage copy (both), depending on how.
func metaWithSource(id string, src store.Snapshot, how string, state store.State) store.Snapshot {
	switch how {
	case "parent":
		return metaChild(id, src, state)
	case "copy source":
		s := metaRoot(id, state)
		s.CopySourceID = src.ID
		return s
	case "lineage copy":
		s := metaChild(id, src, state)
		s.CopySourceID = src.ID
		return s
	}
	panic("metaWithSource: " + how)
}

// metaWantNoSource fails tb unless creating s (with an idempotency record)
// is refused with ErrNotFound and stores nothing: no record, no
// idempotency record, no place in ListSnapshots or in the pending count;
// the ID and the token stay free.
func metaWantNoSource(tb testing.TB, env *metaEnv, step string, s store.Snapshot) {
	tb.Helper()
	s.ClientToken = "token-of-" + s.ID
	idem := metaFullIdempotency(s)
	listed := metaListIDs(tb, env, s.OwnerID)
	pending := len(metaScanIDs(tb, env, store.StatePending, store.StateCompleting, store.StateCopying))
	if err := env.ms.CreateSnapshot(env.ctx, s, idem, 0); !errors.Is(err, store.ErrNotFound) {
		tb.Fatalf("%s: CreateSnapshot(%s) error = %v, want ErrNotFound", step, s.ID, err)
	}
	if _, err := env.ms.GetSnapshot(env.ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
		tb.Errorf("%s: GetSnapshot of the refused snapshot: error = %v, want ErrNotFound", step, err)
	}
	if _, err := env.ms.GetIdempotency(env.ctx, idem.OwnerID, idem.ClientToken); !errors.Is(err, store.ErrNotFound) {
		tb.Errorf("%s: GetIdempotency of the refused snapshot: error = %v, want ErrNotFound", step, err)
	}
	if got := metaListIDs(tb, env, s.OwnerID); !slices.Equal(got, listed) {
		tb.Errorf("%s: ListSnapshots after a refused create = %v, want %v", step, got, listed)
	}
	// The ID and the token are free, and the pending count did not grow:
	// a pending root with both is created under a limit of one more than
	// the pending snapshots there were. It is deleted again, which gives
	// its place in the count back.
	root := metaRoot(s.ID, store.StatePending)
	root.ClientToken = s.ClientToken
	if err := env.ms.CreateSnapshot(env.ctx, root, metaFullIdempotency(root), pending+1); err != nil {
		tb.Fatalf("%s: CreateSnapshot of a root with the refused ID and token, limit %d: %v", step, pending+1, err)
	}
	metaDelete(tb, env, root.ID)
}

func testMetaSourcePrecondition(t *testing.T, env *metaEnv) {
	// Sources in every state but completed, and one that does not exist.
	n := 0
	next := func() string { n++; return metaID(n) }
	sources := map[string]store.Snapshot{"missing": metaRoot(metaID(999), store.StateCompleted)}
	for _, st := range []store.State{store.StatePending, store.StateCompleting, store.StateError, store.StateCopying} {
		s := metaRoot(next(), st)
		metaCreate(t, env, s)
		sources[st.String()] = s
	}
	deleted := metaRoot(next(), store.StateCompleted)
	metaCreate(t, env, deleted)
	metaDelete(t, env, deleted.ID)
	sources["deleted"] = deleted
	completed := metaRoot(next(), store.StateCompleted)
	metaCreate(t, env, completed)
	// A pending snapshot, so that the pending count is checked too.
	metaCreate(t, env, metaRoot(next(), store.StatePending))

	for _, how := range []string{"parent", "copy source", "lineage copy"} {
		for name, src := range sources {
			for _, st := range []store.State{store.StatePending, store.StateCopying, store.StateCompleted} {
				metaWantNoSource(t, env, how+" "+name+", "+st.String(), metaWithSource(next(), src, how, st))
			}
		}
		s := metaWithSource(next(), completed, how, store.StatePending)
		if err := env.ms.CreateSnapshot(env.ctx, s, nil, 0); err != nil {
			t.Errorf("CreateSnapshot with a completed %s: %v", how, err)
		}
		metaCheckSnapshot(t, "GetSnapshot of a "+how, metaGet(t, env, s.ID), s)
	}
	// A child that is a copy of another snapshot needs both completed.
	for name, src := range sources {
		s := metaWithSource(next(), completed, "parent", store.StatePending)
		s.CopySourceID = src.ID
		metaWantNoSource(t, env, "completed parent, copy source "+name, s)
		s = metaWithSource(next(), src, "parent", store.StatePending)
		s.CopySourceID = completed.ID
		metaWantNoSource(t, env, "parent "+name+", completed copy source", s)
	}
	other := metaRoot(next(), store.StateCompleted)
	metaCreate(t, env, other)
	s := metaWithSource(next(), completed, "parent", store.StatePending)
	s.CopySourceID = other.ID
	if err := env.ms.CreateSnapshot(env.ctx, s, nil, 0); err != nil {
		t.Errorf("CreateSnapshot with a completed parent and another completed copy source: %v", err)
	}
}

// testMetaSourceExistsFirst checks that ErrExists takes precedence over a
// missing parent, so that a retried request finds its records even once
// its parent was deleted.
func testMetaSourceExistsFirst(t *testing.T, env *metaEnv) {
	p := metaRoot(metaID(1), store.StateCompleted)
	metaCreate(t, env, p)
	c := metaChild(metaID(2), p, store.StatePending)
	c.ClientToken = "token-1"
	idem := *metaFullIdempotency(c)
	if err := env.ms.CreateSnapshot(env.ctx, c, &idem, 0); err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	metaDelete(t, env, p.ID)
	retry := metaChild(metaID(3), p, store.StatePending)
	retry.ClientToken = c.ClientToken
	if err := env.ms.CreateSnapshot(env.ctx, retry, metaFullIdempotency(retry), 0); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateSnapshot(same client token, parent deleted) error = %v, want ErrExists", err)
	}
	if err := env.ms.CreateSnapshot(env.ctx, c, nil, 0); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateSnapshot(same ID, parent deleted) error = %v, want ErrExists", err)
	}
	metaCheckIdempotency(t, env, idem)
}

// testMetaSourceDeleteRace runs at least metaRaceRounds rounds per kind
// of source, and more, up to metaRaceMaxRounds, until metaRaceTime has
// passed: enough that a store checking the source outside the lock that
// its UpdateSnapshot takes fails reliably, whether its creates take a
// microsecond or a synced commit.
const (
	metaRaceRounds    = 12
	metaRaceMaxRounds = 1000
	metaRaceTime      = time.Second
)

// testMetaSourceDeleteRace creates children (and copies) of a completed
// snapshot from many goroutines while one of them deletes it, and checks
// that the check of the source and the insert are one step with respect
// to the delete: every snapshot made from it was committed before the
// delete, so one that did not exist when the delete returned never
// exists; in particular a create that began after the delete returned
// fails.
func testMetaSourceDeleteRace(t *testing.T, env *metaEnv) {
	for i, how := range []string{"parent", "copy source"} {
		start := time.Now()
		for round := 0; round < metaRaceRounds || round < metaRaceMaxRounds && time.Since(start) < metaRaceTime; round++ {
			metaSourceDeleteRound(t, env, how, (i*metaRaceMaxRounds+round+1)*1000000)
			if t.Failed() {
				return
			}
		}
	}
}

func metaSourceDeleteRound(t *testing.T, env *metaEnv, how string, base int) {
	t.Helper()
	const workers, minCreated = 8, 8
	src := metaRoot(metaID(base), store.StateCompleted)
	metaCreate(t, env, src)

	var (
		next              atomic.Int64 // snapshot base+n is the n-th create's
		deleting, deleted atomic.Bool  // UpdateSnapshot was called, has returned
		inFlight          [workers]atomic.Int64
		wg                sync.WaitGroup
		mu                sync.Mutex
		created           []string
		// What existed right after the delete returned: the creates in
		// flight first, the likeliest to commit too late, then all of
		// those begun by then, numbered up to seenUpTo.
		seen     = map[int]bool{}
		seenUpTo int
	)
	exists := func(n int) bool {
		_, err := env.ms.GetSnapshot(env.ctx, metaID(base+n))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSnapshot: %v", err)
		}
		return err == nil
	}
	// The worker whose create is the minCreated-th to succeed deletes src
	// at once, while the others keep creating: a separate goroutine
	// waiting for its turn would let thousands of creates pass first.
	remove := func() {
		deleting.Store(true)
		_, err := env.ms.UpdateSnapshot(env.ctx, src.ID, func(s *store.Snapshot) error {
			s.State, s.DeleteTime = store.StateDeleted, metaDeleteTime
			return nil
		})
		deleted.Store(true)
		if err != nil {
			t.Errorf("UpdateSnapshot(%s) to deleted: %v", src.ID, err)
		}
		for i := range inFlight {
			if n := int(inFlight[i].Load()); n > 0 {
				seen[n] = exists(n)
			}
		}
		seenUpTo = int(next.Load())
		for n := 1; n <= seenUpTo; n++ {
			if _, ok := seen[n]; !ok {
				seen[n] = exists(n)
			}
		}
	}
	for w := range workers {
		wg.Go(func() {
			for refusals := 0; refusals < 2; {
				n := next.Add(1)
				id := metaID(base + int(n))
				inFlight[w].Store(n)
				began := deleted.Load()
				err := env.ms.CreateSnapshot(env.ctx, metaWithSource(id, src, how, store.StatePending), nil, 0)
				inFlight[w].Store(0)
				switch {
				case err == nil && began:
					t.Errorf("CreateSnapshot(%s) with a %s deleted before it began succeeded", id, how)
					return
				case err == nil:
					mu.Lock()
					created = append(created, id)
					enough := len(created) == minCreated
					mu.Unlock()
					if enough {
						remove()
					}
				case errors.Is(err, store.ErrNotFound):
					if !deleting.Load() {
						t.Errorf("CreateSnapshot(%s) with a completed %s: error = %v", id, how, err)
					}
					refusals++
				default:
					t.Errorf("CreateSnapshot(%s): %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()

	var final, late []string
	for n := 1; n <= int(next.Load()); n++ {
		if exists(n) {
			final = append(final, metaID(base+n))
			if n > seenUpTo || !seen[n] {
				late = append(late, metaID(base+n))
			}
		}
	}
	if len(late) > 0 {
		t.Errorf("%d snapshots made from a %s appeared after UpdateSnapshot deleted it: %v", len(late), how, late)
	}
	slices.Sort(created)
	if !slices.Equal(final, created) {
		t.Errorf("snapshots made from the %s = %v, want exactly the %d whose create returned nil: %v", how, final, len(created), created)
	}
}
