package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// Cases about snapshot records, idempotency records and ScanSnapshots.

// metaFullSnapshot returns a record with every field set.
func metaFullSnapshot(id string) store.Snapshot {
	return store.Snapshot{
		ID:               id,
		OwnerID:          "111122223333",
		State:            store.StateCompleting,
		StateMessage:     "still verifying",
		VolumeSize:       65536,
		Description:      "nightly backup of db-1 ✓",
		Tags:             []ebs.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: ""}, {Key: "ü", Value: "\x00\n"}},
		ClientToken:      "token-1",
		ParentID:         metaID(900),
		RootID:           metaID(901),
		Depth:            7,
		StartTime:        metaMonotonic(time.Date(2025, 6, 7, 8, 0, 0, 987654321, time.Local)),
		Timeout:          4320 * time.Minute,
		CompleteTime:     time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.FixedZone("UTC+2", 2*3600)),
		DeleteTime:       time.Date(2025, 6, 8, 9, 10, 11, 12, time.FixedZone("UTC-5", -5*3600)),
		CopySourceID:     metaID(902),
		FullBlocks:       123456789,
		ExpectedBlocks:   134217728,
		ExpectedChecksum: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		Encrypted:        true,
		KMSKeyARN:        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		WrappedKey:       []byte{0, 1, 2, 3, 254, 255},
	}
}

// metaCreateSources creates, completed, the parent and the copy source
// that s names, which CreateSnapshot requires to exist (metaFullSnapshot
// names two).
func metaCreateSources(tb testing.TB, env *metaEnv, s store.Snapshot) {
	tb.Helper()
	for _, id := range []string{s.ParentID, s.CopySourceID} {
		if id == "" {
			continue
		}
		if _, err := env.ms.GetSnapshot(env.ctx, id); errors.Is(err, store.ErrNotFound) {
			metaCreate(tb, env, metaRoot(id, store.StateCompleted))
		}
	}
}

// metaMonotonic returns t with a monotonic clock reading, which no store
// can keep, as time.Now gives.
func metaMonotonic(t time.Time) time.Time {
	now := time.Now()
	return now.Add(t.Sub(now.Round(0)))
}

// metaFullIdempotency returns an idempotency record of s with every field set.
func metaFullIdempotency(s store.Snapshot) *store.Idempotency {
	return &store.Idempotency{
		OwnerID:     s.OwnerID,
		ClientToken: s.ClientToken,
		RequestHash: ebs.Sum([]byte("request of " + s.ID)),
		SnapshotID:  s.ID,
		Response:    []byte(`{"SnapshotId":"` + s.ID + `"}`),
	}
}

func metaCheckIdempotency(tb testing.TB, env *metaEnv, want store.Idempotency) {
	tb.Helper()
	got, err := env.ms.GetIdempotency(env.ctx, want.OwnerID, want.ClientToken)
	if err != nil {
		tb.Fatalf("GetIdempotency(%s, %s): %v", want.OwnerID, want.ClientToken, err)
	}
	if got.OwnerID != want.OwnerID || got.ClientToken != want.ClientToken || got.RequestHash != want.RequestHash ||
		got.SnapshotID != want.SnapshotID || string(got.Response) != string(want.Response) {
		tb.Errorf("GetIdempotency = %+v, want %+v", got, want)
	}
}

func testMetaCreateGetRoundTrip(t *testing.T, env *metaEnv) {
	s := metaFullSnapshot(metaID(1))
	idem := metaFullIdempotency(s)
	want, wantIdem := metaFullSnapshot(s.ID), *metaFullIdempotency(s)
	metaCreateSources(t, env, s)
	if err := env.ms.CreateSnapshot(env.ctx, s, idem, 0); err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	// The store must keep its own copies, not the caller's slices.
	s.Tags[0].Key, s.WrappedKey[0], idem.Response[0] = "changed", 99, '!'

	got := metaGet(t, env, s.ID)
	metaCheckSnapshot(t, "GetSnapshot", got, want)
	metaCheckIdempotency(t, env, wantIdem)

	// Nor may it hand out slices it keeps.
	got.Tags[0].Key, got.WrappedKey[0] = "changed", 99
	metaCheckSnapshot(t, "GetSnapshot after changing a returned record", metaGet(t, env, s.ID), want)
}

func testMetaGetMissing(t *testing.T, env *metaEnv) {
	metaCreate(t, env, metaRoot(metaID(1), store.StatePending))
	if _, err := env.ms.GetSnapshot(env.ctx, metaID(2)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSnapshot(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := env.ms.GetIdempotency(env.ctx, "111122223333", "no-such-token"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetIdempotency(missing) error = %v, want ErrNotFound", err)
	}
}

func testMetaCreateDuplicateID(t *testing.T, env *metaEnv) {
	first := metaRoot(metaID(1), store.StatePending)
	first.Description = "first"
	metaCreate(t, env, first)

	second := metaRoot(first.ID, store.StateCompleted)
	second.Description, second.ClientToken = "second", "token-2"
	err := env.ms.CreateSnapshot(env.ctx, second, metaFullIdempotency(second), 0)
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateSnapshot(duplicate ID) error = %v, want ErrExists", err)
	}
	metaCheckSnapshot(t, "GetSnapshot", metaGet(t, env, first.ID), first)
	if _, err := env.ms.GetIdempotency(env.ctx, second.OwnerID, second.ClientToken); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("idempotency record of the refused create: error = %v, want ErrNotFound", err)
	}
	if got, want := metaScanIDs(t, env, store.StateCompleted), []string(nil); !slices.Equal(got, want) {
		t.Errorf("completed snapshots = %v, want %v", got, want)
	}
}

func testMetaCreateDuplicateClientToken(t *testing.T, env *metaEnv) {
	first := metaRoot(metaID(1), store.StatePending)
	first.ClientToken = "token-1"
	firstIdem := *metaFullIdempotency(first)
	if err := env.ms.CreateSnapshot(env.ctx, first, &firstIdem, 0); err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}

	second := metaRoot(metaID(2), store.StatePending)
	second.ClientToken = first.ClientToken
	err := env.ms.CreateSnapshot(env.ctx, second, metaFullIdempotency(second), 0)
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateSnapshot(duplicate client token) error = %v, want ErrExists", err)
	}
	if _, err := env.ms.GetSnapshot(env.ctx, second.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSnapshot of the refused snapshot: error = %v, want ErrNotFound", err)
	}
	metaCheckIdempotency(t, env, firstIdem)
	if got, want := metaScanIDs(t, env), []string{first.ID}; !slices.Equal(got, want) {
		t.Errorf("snapshots = %v, want %v", got, want)
	}

	// Records are keyed by owner and token: another owner may use the token.
	third := metaRoot(metaID(3), store.StatePending)
	third.OwnerID, third.ClientToken = "444455556666", first.ClientToken
	thirdIdem := *metaFullIdempotency(third)
	if err := env.ms.CreateSnapshot(env.ctx, third, &thirdIdem, 0); err != nil {
		t.Fatalf("CreateSnapshot(same token, other owner): %v", err)
	}
	metaCheckIdempotency(t, env, thirdIdem)
	metaCheckIdempotency(t, env, firstIdem)
}

func testMetaCreateWithoutIdempotency(t *testing.T, env *metaEnv) {
	s := metaRoot(metaID(1), store.StatePending)
	s.ClientToken = "token-1"
	metaCreate(t, env, s)
	if _, err := env.ms.GetIdempotency(env.ctx, s.OwnerID, s.ClientToken); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetIdempotency after a create without one: error = %v, want ErrNotFound", err)
	}
	metaCheckSnapshot(t, "GetSnapshot", metaGet(t, env, s.ID), s)
}

func testMetaUpdatePersists(t *testing.T, env *metaEnv) {
	s := metaFullSnapshot(metaID(1))
	s.State = store.StatePending
	metaCreateSources(t, env, s)
	metaCreate(t, env, s)

	want := s
	want.State = store.StateError
	want.StateMessage = "timed out"
	want.CompleteTime = time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC)
	want.ExpectedBlocks = 42
	want.Tags = []ebs.Tag{{Key: "only", Value: "one"}}
	want.WrappedKey = nil
	calls := 0
	got, err := env.ms.UpdateSnapshot(env.ctx, s.ID, func(rec *store.Snapshot) error {
		calls++
		metaCheckSnapshot(t, "record given to fn", *rec, s)
		*rec = want
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateSnapshot: %v", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times, want 1", calls)
	}
	metaCheckSnapshot(t, "UpdateSnapshot result", got, want)
	metaCheckSnapshot(t, "GetSnapshot after UpdateSnapshot", metaGet(t, env, s.ID), want)
}

func testMetaUpdateFnError(t *testing.T, env *metaEnv) {
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, s)
	errStop := errors.New("stop")
	_, err := env.ms.UpdateSnapshot(env.ctx, s.ID, func(rec *store.Snapshot) error {
		rec.State, rec.Description = store.StateCompleted, "changed"
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("UpdateSnapshot error = %v, want fn's error", err)
	}
	metaCheckSnapshot(t, "GetSnapshot after a failed update", metaGet(t, env, s.ID), s)
	if got, want := metaScanIDs(t, env, store.StatePending), []string{s.ID}; !slices.Equal(got, want) {
		t.Errorf("pending snapshots = %v, want %v", got, want)
	}
}

func testMetaUpdateMissing(t *testing.T, env *metaEnv) {
	called := false
	_, err := env.ms.UpdateSnapshot(env.ctx, metaID(1), func(*store.Snapshot) error {
		called = true
		return nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateSnapshot(missing) error = %v, want ErrNotFound", err)
	}
	if called {
		t.Error("UpdateSnapshot(missing) called fn")
	}
}

// testMetaUpdateConcurrent checks that updates of one snapshot do not
// interleave: concurrent read-modify-write increments all count.
func testMetaUpdateConcurrent(t *testing.T, env *metaEnv) {
	const workers, each = 8, 5
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, s)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := env.ms.UpdateSnapshot(env.ctx, s.ID, func(rec *store.Snapshot) error {
					rec.ExpectedBlocks++
					return nil
				})
				if err != nil {
					t.Errorf("UpdateSnapshot: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := metaGet(t, env, s.ID).ExpectedBlocks, int64(workers*each); got != want {
		t.Errorf("ExpectedBlocks = %d after %d increments, want %d", got, want, want)
	}
}

func testMetaScanByState(t *testing.T, env *metaEnv) {
	byState := map[store.State][]string{}
	sources := metaFullSnapshot(metaID(0))
	metaCreateSources(t, env, sources)
	byState[store.StateCompleted] = []string{sources.ParentID, sources.CopySourceID}
	n := 0
	states := []store.State{store.StatePending, store.StateCompleting, store.StateCompleted, store.StateError,
		store.StateDeleted, store.StateCopying}
	var all []string
	for _, st := range states {
		for range 3 {
			n++
			s := metaFullSnapshot(metaID(n))
			s.State = st
			metaCreate(t, env, s)
			byState[st] = append(byState[st], s.ID)
		}
		all = append(all, byState[st]...)
	}
	slices.Sort(all)
	of := func(states ...store.State) []string {
		var ids []string
		for _, st := range states {
			ids = append(ids, byState[st]...)
		}
		return slices.Sorted(slices.Values(ids))
	}
	tests := []struct {
		states []store.State
		want   []string
	}{
		{nil, all},
		{[]store.State{store.StatePending}, of(store.StatePending)},
		{[]store.State{store.StateCompleting}, of(store.StateCompleting)},
		{[]store.State{store.StateCompleted}, of(store.StateCompleted)},
		{[]store.State{store.StateError}, of(store.StateError)},
		{[]store.State{store.StateDeleted}, of(store.StateDeleted)},
		{[]store.State{store.StateCopying}, of(store.StateCopying)},
		{[]store.State{store.StatePending, store.StateCompleting}, of(store.StatePending, store.StateCompleting)},
		{[]store.State{store.StateError, store.StatePending}, of(store.StatePending, store.StateError)},
		{[]store.State{store.StateCopying, store.StateDeleted, store.StatePending},
			of(store.StatePending, store.StateDeleted, store.StateCopying)},
		{[]store.State{store.StateDeleted, store.StateCompleted}, of(store.StateCompleted, store.StateDeleted)},
		{states, all},
	}
	for _, tt := range tests {
		if got := metaScanIDs(t, env, tt.states...); !slices.Equal(got, tt.want) {
			t.Errorf("ScanSnapshots(%v) = %v, want %v", tt.states, got, tt.want)
		}
	}

	// fn gets whole records.
	err := env.ms.ScanSnapshots(env.ctx, func(got store.Snapshot) (bool, error) {
		want := metaFullSnapshot(got.ID)
		want.State = store.StateCompleting
		metaCheckSnapshot(t, "record given to ScanSnapshots' fn", got, want)
		return true, nil
	}, store.StateCompleting)
	if err != nil {
		t.Fatalf("ScanSnapshots: %v", err)
	}
}

func testMetaScanReflectsUpdates(t *testing.T, env *metaEnv) {
	a, b := metaRoot(metaID(1), store.StatePending), metaRoot(metaID(2), store.StatePending)
	metaCreate(t, env, a, b)
	check := func(step string, states []store.State, want ...string) {
		t.Helper()
		if got := metaScanIDs(t, env, states...); !slices.Equal(got, want) {
			t.Errorf("%s: ScanSnapshots(%v) = %v, want %v", step, states, got, want)
		}
	}
	pending := []store.State{store.StatePending}
	completing := []store.State{store.StateCompleting}
	completed := []store.State{store.StateCompleted}

	check("created", pending, a.ID, b.ID)
	metaSetState(t, env, a.ID, store.StateCompleting)
	check("a completing", pending, b.ID)
	check("a completing", completing, a.ID)
	metaSetState(t, env, a.ID, store.StateCompleted)
	check("a completed", completing)
	check("a completed", completed, a.ID)
	metaSetState(t, env, b.ID, store.StateError)
	check("b failed", pending)
	check("b failed", []store.State{store.StateError}, b.ID)

	// An update that keeps the state keeps the snapshot in its scan.
	c := metaRoot(metaID(3), store.StatePending)
	metaCreate(t, env, c)
	if _, err := env.ms.UpdateSnapshot(env.ctx, c.ID, func(s *store.Snapshot) error {
		s.Description = "still pending"
		return nil
	}); err != nil {
		t.Fatalf("UpdateSnapshot: %v", err)
	}
	check("c updated", pending, c.ID)
}

func testMetaScanStops(t *testing.T, env *metaEnv) {
	for i := range 5 {
		metaCreate(t, env, metaRoot(metaID(i), store.StatePending))
	}
	for _, states := range [][]store.State{nil, {store.StatePending}} {
		calls := 0
		err := env.ms.ScanSnapshots(env.ctx, func(store.Snapshot) (bool, error) {
			calls++
			return calls < 2, nil
		}, states...)
		if err != nil || calls != 2 {
			t.Errorf("ScanSnapshots(%v) stopping at the 2nd: %d calls, error %v; want 2 calls, nil", states, calls, err)
		}

		errStop := errors.New("stop")
		calls = 0
		err = env.ms.ScanSnapshots(env.ctx, func(store.Snapshot) (bool, error) {
			calls++
			return true, errStop
		}, states...)
		if !errors.Is(err, errStop) || calls != 1 {
			t.Errorf("ScanSnapshots(%v) failing at the 1st: %d calls, error %v; want 1 call, fn's error", states, calls, err)
		}
	}
}
