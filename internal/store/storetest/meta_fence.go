package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Cases about store.Fenced, for the stores that implement it (those that
// several processes write while one collects): a fence refuses mappings of
// blocks stored before it, and a mark view taken after it sees every
// mapping it let through.

// metaFenced returns the store as a store.Fenced, skipping tb when it is
// not one.
func metaFenced(tb testing.TB, env *metaEnv) store.Fenced {
	tb.Helper()
	f, ok := env.ms.(store.Fenced)
	if !ok {
		tb.Skipf("%T is used by one process only: it has no fence", env.ms)
	}
	return f
}

func testMetaFenceRefusesStale(t *testing.T, env *metaEnv) {
	f := metaFenced(t, env)
	snap := metaRoot(metaID(1), store.StatePending)
	metaCreate(t, env, snap)
	putAt := func(index int32, salt string, epoch uint64) error {
		return f.PutBlockAt(env.ctx, snap.ID, index, metaRef(salt, index), time.Now(), epoch)
	}
	if err := putAt(0, "a", 5); err != nil {
		t.Fatalf("PutBlockAt(epoch 5) with no fence: %v", err)
	}
	if err := f.Fence(env.ctx, 6); err != nil {
		t.Fatalf("Fence(6): %v", err)
	}
	before := metaActivity(t, env, snap.ID)
	usage := metaUsage(t, env, snap.OwnerID)
	for _, c := range []struct {
		index int32
		salt  string
	}{{0, "b"}, {1, "b"}} { // a replace and a new index
		if err := putAt(c.index, c.salt, 5); !errors.Is(err, store.ErrStaleEpoch) {
			t.Fatalf("PutBlockAt(%d, epoch 5) after Fence(6) = %v, want ErrStaleEpoch", c.index, err)
		}
	}
	if got, want := metaOwn(t, env, snap.ID, 0), metaOwnOf(snap.ID, 0); len(got) != 1 || got[0].Ref != metaRef("a", 0) {
		t.Fatalf("after refused writes the own blocks are %v, want only index 0 of the first write (%v)", got, want)
	}
	if got := metaUsage(t, env, snap.OwnerID); got != usage {
		t.Errorf("refused writes changed Usage from %d to %d", usage, got)
	}
	if got := metaActivity(t, env, snap.ID); !got.Equal(before) {
		t.Errorf("a refused write moved LastActivity from %v to %v", before, got)
	}
	if err := putAt(1, "c", 6); err != nil {
		t.Fatalf("PutBlockAt(epoch 6) after Fence(6): %v", err)
	}
	// A fence only rises, and plain PutBlock is never fenced.
	if err := f.Fence(env.ctx, 2); err != nil {
		t.Fatalf("Fence(2): %v", err)
	}
	if err := putAt(2, "d", 5); !errors.Is(err, store.ErrStaleEpoch) {
		t.Fatalf("PutBlockAt(epoch 5) after Fence(6), Fence(2) = %v, want ErrStaleEpoch: the fence went down", err)
	}
	if err := env.ms.PutBlock(env.ctx, snap.ID, 3, metaRef("e", 3), time.Now()); err != nil {
		t.Fatalf("PutBlock after a fence: %v", err)
	}
	if err := f.PutBlockAt(env.ctx, metaID(99), 0, metaRef("f", 0), time.Now(), 7); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PutBlockAt of a missing snapshot = %v, want ErrNotFound", err)
	}
}

// testMetaFenceRacesPutBlock is the fence's safety: writers map blocks at
// the epoch they read, a collector advances the epoch, fences and takes a
// mark view, round after round; every mapping acknowledged with an epoch
// below a round's fence must be in that round's view. A fence that did
// not wait for the PutBlockAt calls in flight, or a PutBlockAt that read a
// fence older than the lock it holds, lets one commit after the view.
func testMetaFenceRacesPutBlock(t *testing.T, env *metaEnv) {
	f := metaFenced(t, env)
	snap := metaRoot(metaID(1), store.StatePending)
	snap.VolumeSize = 1 << 14
	metaCreate(t, env, snap)
	const writers, rounds = 12, 60
	var epoch atomic.Uint64
	epoch.Store(1)
	var next atomic.Int32 // the next block index: each write maps a new one
	type ack struct {
		index int32
		epoch uint64
	}
	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				e := epoch.Load()
				i := next.Add(1)
				err := f.PutBlockAt(env.ctx, snap.ID, i, metaRef("race", i), time.Now(), e)
				switch {
				case errors.Is(err, store.ErrStaleEpoch):
				case err != nil:
					t.Errorf("PutBlockAt(%d, epoch %d): %v", i, e, err)
					return
				default:
					mu.Lock()
					acks = append(acks, ack{i, e})
					mu.Unlock()
				}
			}
		}()
	}
	seen := make([]map[int32]bool, rounds) // round r's view, fenced at r+2
	for r := range rounds {
		fence := uint64(r + 2)
		epoch.Store(fence)
		if err := f.Fence(env.ctx, fence); err != nil {
			t.Fatalf("Fence(%d): %v", fence, err)
		}
		v := metaMarkView(t, env)
		seen[r] = map[int32]bool{}
		for _, b := range metaViewOwn(t, env, v, snap.ID, 0) {
			seen[r][b.Index] = true
		}
		_ = v.Close()
	}
	close(stop)
	wg.Wait()
	if len(acks) < rounds {
		t.Fatalf("only %d writes were acknowledged over %d rounds: the race was not exercised", len(acks), rounds)
	}
	missed := 0
	for _, a := range acks {
		// The first round whose fence is above a.epoch: fence r+2 > e.
		for r := max(int(a.epoch)-1, 0); r < rounds; r++ {
			if !seen[r][a.index] {
				if missed++; missed <= 5 {
					t.Errorf("block %d was acknowledged at epoch %d but is missing from the view taken after Fence(%d)", a.index, a.epoch, r+2)
				}
			}
		}
	}
	if missed > 0 {
		t.Fatalf("%d of %d acknowledged mappings were missing from views taken after a fence above their epoch", missed, len(acks))
	}
	t.Logf("%d writes acknowledged over %d fences", len(acks), rounds)
}
