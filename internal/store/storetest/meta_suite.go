package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// MetaHarness gives one test case its own, initially empty, MetaStore
// namespace.
type MetaHarness interface {
	// Open returns a store over the harness's namespace. It may be called
	// again once the store it returned is closed, and the new store must
	// then hold what the first one stored (unless the harness is
	// MetaVolatile).
	Open(ctx context.Context) (store.MetaStore, error)

	// Close releases the namespace. Stores it opened are closed by then.
	Close()
}

// MetaHarnessMaker makes a fresh harness for one test case or benchmark. It
// takes a testing.TB, not a *testing.T, so that benchmarks can use it too.
type MetaHarnessMaker func(tb testing.TB) MetaHarness

// MetaVolatile is implemented by harnesses whose stores keep nothing once
// closed (memstore): the cases that reopen a store are skipped for them.
type MetaVolatile interface {
	Volatile() bool
}

// metaCase is one conformance case. Cases that set reopen close the store
// and open it again, so they are skipped for volatile harnesses.
type metaCase struct {
	name   string
	reopen bool
	fn     func(t *testing.T, env *metaEnv)
}

// RunMetaStoreTests runs the MetaStore conformance suite: every case gets a
// fresh harness from mk and runs in parallel with the others.
func RunMetaStoreTests(t *testing.T, mk MetaHarnessMaker) {
	cases := []metaCase{
		// meta_snapshots.go
		{name: "CreateGetRoundTrip", fn: testMetaCreateGetRoundTrip},
		{name: "GetMissing", fn: testMetaGetMissing},
		{name: "CreateDuplicateID", fn: testMetaCreateDuplicateID},
		{name: "CreateDuplicateClientToken", fn: testMetaCreateDuplicateClientToken},
		{name: "CreateWithoutIdempotency", fn: testMetaCreateWithoutIdempotency},
		{name: "UpdatePersists", fn: testMetaUpdatePersists},
		{name: "UpdateFnError", fn: testMetaUpdateFnError},
		{name: "UpdateMissing", fn: testMetaUpdateMissing},
		{name: "UpdateConcurrent", fn: testMetaUpdateConcurrent},
		{name: "ScanByState", fn: testMetaScanByState},
		{name: "ScanReflectsUpdates", fn: testMetaScanReflectsUpdates},
		{name: "ScanStops", fn: testMetaScanStops},

		// meta_blocks.go
		{name: "PutBlockOwnBlocks", fn: testMetaPutBlockOwnBlocks},
		{name: "PutBlockOverwrite", fn: testMetaPutBlockOverwrite},
		{name: "PutBlockNotWritable", fn: testMetaPutBlockNotWritable},
		{name: "PutBlockMissing", fn: testMetaPutBlockMissing},
		{name: "OwnBlocksNotInherited", fn: testMetaOwnBlocksNotInherited},
		{name: "OwnBlocksStops", fn: testMetaOwnBlocksStops},
		{name: "LastActivity", fn: testMetaLastActivity},
		{name: "LastActivityKeptByStore", fn: testMetaLastActivityKeptByStore},
		{name: "WrittenIndexes", fn: testMetaWrittenIndexes},
		{name: "ConcurrentPutBlock", fn: testMetaConcurrentPutBlock},
		{name: "PutBlockRacesComplete", fn: testMetaPutBlockRacesComplete},

		// meta_pending_limit.go
		{name: "PendingLimit", fn: testMetaPendingLimit},
		{name: "PendingLimitConcurrent", fn: testMetaPendingLimitConcurrent},
		{name: "PendingLimitRetry", fn: testMetaPendingLimitRetry},
		{name: "PendingLimitReopen", reopen: true, fn: testMetaPendingLimitReopen},

		// meta_lineage.go
		{name: "ViewNearestWriter", fn: testMetaViewNearestWriter},
		{name: "ViewPaging", fn: testMetaViewPaging},
		{name: "ResolveNearestWriter", fn: testMetaResolveNearestWriter},
		{name: "ViewPendingChild", fn: testMetaViewPendingChild},
		{name: "ViewSeparateRoots", fn: testMetaViewSeparateRoots},
		{name: "ViewShallowInDeepTree", fn: testMetaViewShallowInDeepTree},

		// meta_own_changes.go
		{name: "OwnChanges", fn: testMetaOwnChanges},

		// meta_delete.go
		{name: "DeleteTombstone", fn: testMetaDeleteTombstone},
		{name: "DeletePendingCount", fn: testMetaDeletePendingCount},
		{name: "Copying", fn: testMetaCopying},
		{name: "DeleteReopen", reopen: true, fn: testMetaDeleteReopen},
		{name: "DeletedIsTerminal", fn: testMetaDeletedIsTerminal},

		// meta_mark_view.go
		{name: "MarkViewIsSnapshot", fn: testMetaMarkViewIsSnapshot},
		{name: "MarkViewConcurrent", fn: testMetaMarkViewConcurrent},

		// meta_fence.go
		{name: "FenceRefusesStale", fn: testMetaFenceRefusesStale},
		{name: "FenceRacesPutBlock", fn: testMetaFenceRacesPutBlock},

		// meta_purge.go
		{name: "PurgeDeleted", fn: testMetaPurgeDeleted},
		{name: "PurgeError", fn: testMetaPurgeError},
		{name: "PurgeRefused", fn: testMetaPurgeRefused},
		{name: "PurgeLarge", fn: testMetaPurgeLarge},
		{name: "PurgeRacesUpdate", fn: testMetaPurgeRacesUpdate},
		{name: "ScanRacesPurge", fn: testMetaScanRacesPurge},
		{name: "PurgeReopen", reopen: true, fn: testMetaPurgeReopen},

		// meta_usage.go
		{name: "UsageCounts", fn: testMetaUsageCounts},
		{name: "UsageConcurrent", fn: testMetaUsageConcurrent},
		{name: "UsageReopen", reopen: true, fn: testMetaUsageReopen},

		// meta_list.go
		{name: "List", fn: testMetaList},
		{name: "ListConcurrent", fn: testMetaListConcurrent},
		{name: "ListReopen", reopen: true, fn: testMetaListReopen},

		// meta_sources.go
		{name: "SourcePrecondition", fn: testMetaSourcePrecondition},
		{name: "SourceExistsFirst", fn: testMetaSourceExistsFirst},
		{name: "SourceDeleteRace", fn: testMetaSourceDeleteRace},

		// meta_secret.go
		{name: "SecretGeneratedOnce", fn: testMetaSecretGeneratedOnce},
		{name: "SecretGenerateError", fn: testMetaSecretGenerateError},
		{name: "SecretReopen", reopen: true, fn: testMetaSecretReopen},

		// meta_lifecycle.go
		{name: "Closed", fn: testMetaClosed},
		{name: "Reopen", reopen: true, fn: testMetaReopen},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := metaOpenEnv(t, mk)
			if c.reopen && env.volatile {
				t.Skip("the harness's stores keep nothing once closed")
			}
			c.fn(t, env)
		})
	}
}

// metaEnv is what a case works with: a harness and the store it opened.
type metaEnv struct {
	ctx      context.Context
	h        MetaHarness
	ms       store.MetaStore
	volatile bool
}

// metaOpenEnv makes a harness and opens its store; both are closed when tb
// ends.
func metaOpenEnv(tb testing.TB, mk MetaHarnessMaker) *metaEnv {
	tb.Helper()
	h := mk(tb)
	env := &metaEnv{ctx: tb.Context(), h: h}
	if v, ok := h.(MetaVolatile); ok {
		env.volatile = v.Volatile()
	}
	tb.Cleanup(func() {
		if env.ms != nil {
			if err := env.ms.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
				tb.Errorf("Close: %v", err)
			}
		}
		h.Close()
	})
	ms, err := h.Open(tb.Context())
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	env.ms = ms
	return env
}

// reopen closes the store and opens the harness's namespace again.
func (env *metaEnv) reopen(tb testing.TB) {
	tb.Helper()
	err := env.ms.Close()
	env.ms = nil
	if err != nil {
		tb.Fatalf("Close: %v", err)
	}
	ms, err := env.h.Open(env.ctx)
	if err != nil {
		tb.Fatalf("Open again: %v", err)
	}
	env.ms = ms
}

// metaID returns the n-th snapshot ID of a case.
func metaID(n int) string { return fmt.Sprintf("snap-%017x", 0xeb5d0000+n) }

// metaRoot returns a minimal record of a snapshot without a parent.
func metaRoot(id string, state store.State) store.Snapshot {
	return store.Snapshot{
		ID:         id,
		OwnerID:    "111122223333",
		State:      state,
		VolumeSize: 8,
		RootID:     id,
		StartTime:  time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Timeout:    time.Hour,
	}
}

// metaChild returns a minimal record of a child of parent.
func metaChild(id string, parent store.Snapshot, state store.State) store.Snapshot {
	s := metaRoot(id, state)
	s.ParentID, s.RootID, s.Depth = parent.ID, parent.RootID, parent.Depth+1
	return s
}

// metaRef returns a BlockRef unique to (salt, n), with Key differing from
// Digest as for an encrypted block.
func metaRef(salt string, n int32) store.BlockRef {
	return store.BlockRef{
		Digest: ebs.Digest(sha256.Sum256(fmt.Appendf(nil, "digest %s %d", salt, n))),
		Key:    ebs.Digest(sha256.Sum256(fmt.Appendf(nil, "key %s %d", salt, n))),
	}
}

// metaCreate stores each of ss without an idempotency record.
func metaCreate(tb testing.TB, env *metaEnv, ss ...store.Snapshot) {
	tb.Helper()
	for _, s := range ss {
		if err := env.ms.CreateSnapshot(env.ctx, s, nil, 0); err != nil {
			tb.Fatalf("CreateSnapshot(%s): %v", s.ID, err)
		}
	}
}

// metaPut maps index of snapshot id to metaRef(id, index).
func metaPut(tb testing.TB, env *metaEnv, id string, indexes ...int32) {
	tb.Helper()
	for _, index := range indexes {
		if err := env.ms.PutBlock(env.ctx, id, index, metaRef(id, index), time.Now()); err != nil {
			tb.Fatalf("PutBlock(%s, %d): %v", id, index, err)
		}
	}
}

// metaActivity returns the LastActivity of snapshot id.
func metaActivity(tb testing.TB, env *metaEnv, id string) time.Time {
	tb.Helper()
	return metaGet(tb, env, id).LastActivity
}

// metaSetState moves snapshot id to state.
func metaSetState(tb testing.TB, env *metaEnv, id string, state store.State) {
	tb.Helper()
	_, err := env.ms.UpdateSnapshot(env.ctx, id, func(s *store.Snapshot) error {
		s.State = state
		return nil
	})
	if err != nil {
		tb.Fatalf("UpdateSnapshot(%s, %s): %v", id, state, err)
	}
}

// metaGet returns the record of snapshot id.
func metaGet(tb testing.TB, env *metaEnv, id string) store.Snapshot {
	tb.Helper()
	s, err := env.ms.GetSnapshot(env.ctx, id)
	if err != nil {
		tb.Fatalf("GetSnapshot(%s): %v", id, err)
	}
	return s
}

// metaOwn returns the own blocks of snapshot id from start.
func metaOwn(tb testing.TB, env *metaEnv, id string, start int32) []store.IndexedRef {
	tb.Helper()
	var got []store.IndexedRef
	err := env.ms.OwnBlocks(env.ctx, id, start, func(r store.IndexedRef) (bool, error) {
		got = append(got, r)
		return true, nil
	})
	if err != nil {
		tb.Fatalf("OwnBlocks(%s, %d): %v", id, start, err)
	}
	return got
}

// metaScanIDs returns the sorted IDs of the snapshots in states.
func metaScanIDs(tb testing.TB, env *metaEnv, states ...store.State) []string {
	tb.Helper()
	var ids []string
	err := env.ms.ScanSnapshots(env.ctx, func(s store.Snapshot) (bool, error) {
		ids = append(ids, s.ID)
		return true, nil
	}, states...)
	if err != nil {
		tb.Fatalf("ScanSnapshots(%v): %v", states, err)
	}
	slices.Sort(ids)
	return ids
}

// metaSameSnapshot reports how got differs from want, or "" when it does
// not. Times compare as instants (a backend need not keep their Location
// or monotonic reading) and empty slices equal nil ones.
func metaSameSnapshot(got, want store.Snapshot) string {
	var diffs []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("OwnerID", got.OwnerID == want.OwnerID, got.OwnerID, want.OwnerID)
	check("State", got.State == want.State, got.State, want.State)
	check("StateMessage", got.StateMessage == want.StateMessage, got.StateMessage, want.StateMessage)
	check("VolumeSize", got.VolumeSize == want.VolumeSize, got.VolumeSize, want.VolumeSize)
	check("Description", got.Description == want.Description, got.Description, want.Description)
	check("Tags", slices.Equal(got.Tags, want.Tags), got.Tags, want.Tags)
	check("ClientToken", got.ClientToken == want.ClientToken, got.ClientToken, want.ClientToken)
	check("ParentID", got.ParentID == want.ParentID, got.ParentID, want.ParentID)
	check("RootID", got.RootID == want.RootID, got.RootID, want.RootID)
	check("Depth", got.Depth == want.Depth, got.Depth, want.Depth)
	check("StartTime", got.StartTime.Equal(want.StartTime), got.StartTime, want.StartTime)
	check("Timeout", got.Timeout == want.Timeout, got.Timeout, want.Timeout)
	check("CompleteTime", got.CompleteTime.Equal(want.CompleteTime), got.CompleteTime, want.CompleteTime)
	check("DeleteTime", got.DeleteTime.Equal(want.DeleteTime), got.DeleteTime, want.DeleteTime)
	check("CopySourceID", got.CopySourceID == want.CopySourceID, got.CopySourceID, want.CopySourceID)
	check("FullBlocks", got.FullBlocks == want.FullBlocks, got.FullBlocks, want.FullBlocks)
	check("LastActivity", got.LastActivity.Equal(want.LastActivity), got.LastActivity, want.LastActivity)
	check("ExpectedBlocks", got.ExpectedBlocks == want.ExpectedBlocks, got.ExpectedBlocks, want.ExpectedBlocks)
	check("ExpectedChecksum", got.ExpectedChecksum == want.ExpectedChecksum, got.ExpectedChecksum, want.ExpectedChecksum)
	check("Encrypted", got.Encrypted == want.Encrypted, got.Encrypted, want.Encrypted)
	check("KMSKeyARN", got.KMSKeyARN == want.KMSKeyARN, got.KMSKeyARN, want.KMSKeyARN)
	check("WrappedKey", bytes.Equal(got.WrappedKey, want.WrappedKey), got.WrappedKey, want.WrappedKey)
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprint(diffs)
}

// metaCheckSnapshot fails tb when got differs from want.
func metaCheckSnapshot(tb testing.TB, what string, got, want store.Snapshot) {
	tb.Helper()
	if d := metaSameSnapshot(got, want); d != "" {
		tb.Errorf("%s: %s", what, d)
	}
}
