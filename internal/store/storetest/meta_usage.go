package storetest

import (
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// Cases about MetaStore.Usage and ScanUsage.

// metaZeroRef is the mapping of a zero block, which counts in no usage.
var metaZeroRef = store.BlockRef{Digest: ebs.ZeroBlockDigest, Key: ebs.ZeroBlockDigest}

// metaUsage returns Usage(owner), failing tb on an error.
func metaUsage(tb testing.TB, env *metaEnv, owner string) int64 {
	tb.Helper()
	n, err := env.ms.Usage(env.ctx, owner)
	if err != nil {
		tb.Fatalf("Usage(%s): %v", owner, err)
	}
	return n
}

// metaScanUsage returns what ScanUsage reports, failing tb on an error or
// an owner reported twice.
func metaScanUsage(tb testing.TB, env *metaEnv) map[string]int64 {
	tb.Helper()
	got := make(map[string]int64)
	err := env.ms.ScanUsage(env.ctx, func(owner string, n int64) (bool, error) {
		if _, dup := got[owner]; dup {
			return false, fmt.Errorf("owner %s reported twice", owner)
		}
		got[owner] = n
		return true, nil
	})
	if err != nil {
		tb.Fatalf("ScanUsage: %v", err)
	}
	return got
}

// metaRecount counts every owner's usage from the records and OwnBlocks:
// what Usage must answer.
func metaRecount(tb testing.TB, env *metaEnv) map[string]int64 {
	tb.Helper()
	want := make(map[string]int64)
	err := env.ms.ScanSnapshots(env.ctx, func(s store.Snapshot) (bool, error) {
		for _, b := range metaOwn(tb, env, s.ID, -1<<31) {
			if b.Ref.Digest != ebs.ZeroBlockDigest {
				want[s.OwnerID]++
			}
		}
		return true, nil
	})
	if err != nil {
		tb.Fatalf("ScanSnapshots: %v", err)
	}
	return want
}

// metaCheckUsage fails tb unless Usage and ScanUsage agree with a recount
// from OwnBlocks, for the owners given and every other one.
func metaCheckUsage(tb testing.TB, env *metaEnv, step string, owners ...string) {
	tb.Helper()
	want := metaRecount(tb, env)
	if got := metaScanUsage(tb, env); !maps.Equal(got, want) {
		tb.Errorf("%s: ScanUsage = %v, want the recount %v", step, got, want)
	}
	for _, owner := range owners {
		if got := metaUsage(tb, env, owner); got != want[owner] {
			tb.Errorf("%s: Usage(%s) = %d, want the recount %d", step, owner, got, want[owner])
		}
	}
}

// testMetaUsageCounts walks the rules of Usage one step at a time: a new
// non-zero index adds one, an overwrite adds nothing, a zero block counts
// nothing and takes away what it overwrites, a child's own writes count
// and inherited ones do not, owners are separate, a delete changes
// nothing, and a purge takes the purged mappings away.
func testMetaUsageCounts(t *testing.T, env *metaEnv) {
	const owner, other = "111122223333", "444455556666"
	root := metaRoot(metaID(1), store.StatePending)
	theirs := metaRoot(metaID(2), store.StatePending)
	theirs.OwnerID = other
	failed := metaRoot(metaID(3), store.StatePending)
	metaCreate(t, env, root, theirs, failed)
	if got := metaUsage(t, env, owner); got != 0 {
		t.Fatalf("Usage of a new owner = %d, want 0", got)
	}
	put := func(id string, index int32, ref store.BlockRef) {
		t.Helper()
		if err := env.ms.PutBlock(env.ctx, id, index, ref, time.Now()); err != nil {
			t.Fatalf("PutBlock(%s, %d): %v", id, index, err)
		}
	}
	steps := []struct {
		name      string
		do        func()
		own, them int64
	}{
		{"three new blocks", func() { metaPut(t, env, root.ID, 0, 1, 2) }, 3, 0},
		{"an overwrite", func() { put(root.ID, 1, metaRef("again", 1)) }, 3, 0},
		{"the same mapping again", func() { put(root.ID, 1, metaRef("again", 1)) }, 3, 0},
		{"a new zero block", func() { put(root.ID, 3, metaZeroRef) }, 3, 0},
		{"a zero block over a block", func() { put(root.ID, 2, metaZeroRef) }, 2, 0},
		{"a zero block over a zero block", func() { put(root.ID, 2, metaZeroRef) }, 2, 0},
		{"a block over a zero block", func() { put(root.ID, 3, metaRef("x", 3)) }, 3, 0},
		{"another owner's blocks", func() { metaPut(t, env, theirs.ID, 0, 1) }, 3, 2},
		{"a failed snapshot's blocks", func() { metaPut(t, env, failed.ID, 5, 6) }, 5, 2},
	}
	for _, s := range steps {
		s.do()
		if got := metaUsage(t, env, owner); got != s.own {
			t.Errorf("after %s: Usage(%s) = %d, want %d", s.name, owner, got, s.own)
		}
		if got := metaUsage(t, env, other); got != s.them {
			t.Errorf("after %s: Usage(%s) = %d, want %d", s.name, other, got, s.them)
		}
	}
	metaCheckUsage(t, env, "after the puts", owner, other)

	// A child's own writes count, whatever it inherits.
	metaSetState(t, env, root.ID, store.StateCompleted)
	child := metaChild(metaID(4), root, store.StatePending)
	metaCreate(t, env, child)
	metaPut(t, env, child.ID, 0, 7)
	metaSetState(t, env, child.ID, store.StateCompleted)
	if got := metaUsage(t, env, owner); got != 7 {
		t.Errorf("after a child's 2 blocks: Usage = %d, want 7", got)
	}
	// A delete keeps the mappings, so the usage, until the purge.
	metaSetState(t, env, child.ID, store.StateDeleted)
	if got := metaUsage(t, env, owner); got != 7 {
		t.Errorf("after a delete: Usage = %d, want 7 until the purge", got)
	}
	metaSetState(t, env, failed.ID, store.StateError)
	if _, ok := env.ms.(store.MetaCollector); ok {
		metaPurge(t, env, child.ID)
		if got := metaUsage(t, env, owner); got != 5 {
			t.Errorf("after the tombstone's purge: Usage = %d, want 5", got)
		}
		metaPurge(t, env, failed.ID)
		if got := metaUsage(t, env, owner); got != 3 {
			t.Errorf("after the failed snapshot's purge: Usage = %d, want 3", got)
		}
		metaPurge(t, env, failed.ID) // again: nothing left to take away
		if got := metaUsage(t, env, owner); got != 3 {
			t.Errorf("after purging again: Usage = %d, want 3", got)
		}
	}
	metaCheckUsage(t, env, "at the end", owner, other)
}

// testMetaUsageConcurrent races PutBlocks of two owners' snapshots, to
// indexes each writer has to itself and to indexes all of them write,
// with zero and non-zero blocks, and then the purge of one of them with
// the others' writes: the usage must equal a recount from OwnBlocks. A
// counter read and written outside the atomic write of the mapping
// loses or doubles counts here.
func testMetaUsageConcurrent(t *testing.T, env *metaEnv) {
	owners := []string{"111122223333", "444455556666"}
	var ids []string
	for n := range 4 {
		s := metaRoot(metaID(n), store.StatePending)
		s.OwnerID = owners[n%2]
		metaCreate(t, env, s)
		ids = append(ids, s.ID)
	}
	const writers, puts, shared = 8, 150, 6
	write := func(ids []string) {
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range puts {
					id := ids[(w+i)%len(ids)]
					index := int32(1000*(w+1) + i) // this writer's own
					if i%2 == 0 {
						index = int32(i % shared) // everyone's
					}
					ref := metaRef(fmt.Sprint(w), int32(i))
					if (w+i)%5 == 0 {
						ref = metaZeroRef
					}
					if err := env.ms.PutBlock(env.ctx, id, index, ref, time.Now()); err != nil {
						t.Errorf("PutBlock(%s, %d): %v", id, index, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	write(ids)
	metaCheckUsage(t, env, "after concurrent puts", owners...)

	mc, ok := env.ms.(store.MetaCollector)
	if !ok {
		return
	}
	metaSetState(t, env, ids[0], store.StateError)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := mc.PurgeSnapshot(env.ctx, ids[0]); err != nil {
			t.Errorf("PurgeSnapshot(%s): %v", ids[0], err)
		}
	})
	write(ids[1:])
	wg.Wait()
	metaCheckUsage(t, env, "after a purge racing puts", owners...)
}

// testMetaUsageReopen checks that the usage survives a reopen.
func testMetaUsageReopen(t *testing.T, env *metaEnv) {
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, s)
	metaPut(t, env, s.ID, 0, 1, 2, 3)
	if err := env.ms.PutBlock(env.ctx, s.ID, 1, metaZeroRef, time.Now()); err != nil {
		t.Fatal(err)
	}
	want := metaScanUsage(t, env)
	if want[s.OwnerID] != 3 {
		t.Fatalf("ScanUsage = %v, want 3 for %s", want, s.OwnerID)
	}
	env.reopen(t)
	if got := metaScanUsage(t, env); !maps.Equal(got, want) {
		t.Errorf("ScanUsage after a reopen = %v, want %v", got, want)
	}
	metaCheckUsage(t, env, "after a reopen", s.OwnerID)
}
