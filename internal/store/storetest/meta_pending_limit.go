package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about CreateSnapshot's limit of pending snapshots per owner.

// metaOwner is the owner of metaRoot's records; metaOtherOwner another.
const (
	metaOwner      = "111122223333"
	metaOtherOwner = "444455556666"
)

// metaCreateLimited creates s under limit and returns CreateSnapshot's error.
func metaCreateLimited(env *metaEnv, s store.Snapshot, limit int) error {
	return env.ms.CreateSnapshot(env.ctx, s, nil, limit)
}

// metaWantLimit fails tb unless creating s under limit is refused with
// ErrLimit and stores nothing.
func metaWantLimit(tb testing.TB, env *metaEnv, step string, s store.Snapshot, limit int) {
	tb.Helper()
	s.ClientToken = "token-of-" + s.ID
	idem := metaFullIdempotency(s)
	if err := env.ms.CreateSnapshot(env.ctx, s, idem, limit); !errors.Is(err, store.ErrLimit) {
		tb.Fatalf("%s: CreateSnapshot(%s, limit %d) error = %v, want ErrLimit", step, s.ID, limit, err)
	}
	if _, err := env.ms.GetSnapshot(env.ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
		tb.Errorf("%s: GetSnapshot of the refused snapshot: error = %v, want ErrNotFound", step, err)
	}
	if _, err := env.ms.GetIdempotency(env.ctx, idem.OwnerID, idem.ClientToken); !errors.Is(err, store.ErrNotFound) {
		tb.Errorf("%s: GetIdempotency of the refused snapshot: error = %v, want ErrNotFound", step, err)
	}
}

// metaWantCreated fails tb unless creating s under limit succeeds.
func metaWantCreated(tb testing.TB, env *metaEnv, step string, s store.Snapshot, limit int) {
	tb.Helper()
	if err := metaCreateLimited(env, s, limit); err != nil {
		tb.Fatalf("%s: CreateSnapshot(%s, limit %d): %v", step, s.ID, limit, err)
	}
}

// testMetaPendingLimit checks which snapshots count: the owner's, pending
// or completing, as their state is now.
func testMetaPendingLimit(t *testing.T, env *metaEnv) {
	const limit = 2
	pending := func(n int) store.Snapshot { return metaRoot(metaID(n), store.StatePending) }
	a, b := pending(1), pending(2)
	metaWantCreated(t, env, "first", a, limit)
	metaWantCreated(t, env, "second", b, limit)
	metaWantLimit(t, env, "third", pending(3), limit)

	other := pending(4)
	other.OwnerID = metaOtherOwner
	metaWantCreated(t, env, "another owner", other, limit)
	metaWantCreated(t, env, "a completed snapshot", metaRoot(metaID(5), store.StateCompleted), limit)
	metaWantCreated(t, env, "no limit", pending(6), 0)
	metaWantLimit(t, env, "three pending, limit 3", pending(7), 3)

	metaSetState(t, env, a.ID, store.StateCompleting)
	metaWantLimit(t, env, "completing still counts", pending(8), 3)
	metaSetState(t, env, a.ID, store.StateCompleted)
	metaWantCreated(t, env, "after one completed", pending(9), 3)
	metaWantLimit(t, env, "full again", pending(10), 3)
	metaSetState(t, env, b.ID, store.StateError)
	metaWantCreated(t, env, "after one failed", pending(11), 3)

	// Any state change counts, even back to pending.
	metaSetState(t, env, a.ID, store.StatePending)
	metaWantLimit(t, env, "one back to pending", pending(12), 4)
	metaWantCreated(t, env, "one back to pending", pending(13), 5)
	if got, want := len(metaScanIDs(t, env, store.StatePending, store.StateCompleting)), 6; got != want {
		t.Errorf("%d pending snapshots, want %d", got, want)
	}
}

// testMetaPendingLimitConcurrent checks that the count and the insert are
// one atomic step: of many concurrent creates, exactly limit succeed.
func testMetaPendingLimitConcurrent(t *testing.T, env *metaEnv) {
	const limit, workers = 5, 64
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		start   = make(chan struct{})
		owners  = []string{metaOwner, metaOtherOwner}
		created = map[string][]string{} // owner -> IDs
		refused = map[string]int{}
	)
	for i := range workers {
		s := metaRoot(metaID(i), store.StatePending)
		s.OwnerID = owners[i%4/3] // three quarters to one owner
		wg.Go(func() {
			<-start
			err := metaCreateLimited(env, s, limit)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created[s.OwnerID] = append(created[s.OwnerID], s.ID)
			case errors.Is(err, store.ErrLimit):
				refused[s.OwnerID]++
			default:
				t.Errorf("CreateSnapshot(%s): %v", s.ID, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, owner := range owners {
		if n := len(created[owner]); n != limit {
			t.Errorf("owner %s: %d of %d concurrent creates succeeded (%d refused), want exactly %d",
				owner, n, n+refused[owner], refused[owner], limit)
		}
	}
	got := metaScanIDs(t, env, store.StatePending)
	want := slices.Sorted(slices.Values(slices.Concat(created[metaOwner], created[metaOtherOwner])))
	if !slices.Equal(got, want) {
		t.Errorf("pending snapshots = %v, want the %d created: %v", got, len(want), want)
	}
}

// testMetaPendingLimitRetry checks that ErrExists wins over ErrLimit: a
// retried request at the limit must find its own records.
func testMetaPendingLimitRetry(t *testing.T, env *metaEnv) {
	const limit = 1
	first := metaRoot(metaID(1), store.StatePending)
	first.ClientToken = "token-1"
	if err := env.ms.CreateSnapshot(env.ctx, first, metaFullIdempotency(first), limit); err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	retry := metaRoot(metaID(2), store.StatePending)
	retry.ClientToken = first.ClientToken
	if err := env.ms.CreateSnapshot(env.ctx, retry, metaFullIdempotency(retry), limit); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateSnapshot(same client token, at the limit) error = %v, want ErrExists", err)
	}
	sameID := metaRoot(first.ID, store.StatePending)
	if err := env.ms.CreateSnapshot(env.ctx, sameID, nil, limit); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateSnapshot(same ID, at the limit) error = %v, want ErrExists", err)
	}
}

// testMetaPendingLimitReopen checks that the count survives reopening.
func testMetaPendingLimitReopen(t *testing.T, env *metaEnv) {
	const limit = 2
	a, b := metaRoot(metaID(1), store.StatePending), metaRoot(metaID(2), store.StatePending)
	metaWantCreated(t, env, "first", a, limit)
	metaWantCreated(t, env, "second", b, limit)
	metaSetState(t, env, a.ID, store.StateCompleting)
	env.reopen(t)
	metaWantLimit(t, env, "after reopening", metaRoot(metaID(3), store.StatePending), limit)
	metaSetState(t, env, a.ID, store.StateCompleted)
	env.reopen(t)
	metaWantCreated(t, env, "after a completion and reopening", metaRoot(metaID(4), store.StatePending), limit)
	metaWantLimit(t, env, "full again", metaRoot(metaID(5), store.StatePending), limit)
}
