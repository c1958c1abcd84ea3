package snapshot_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

func TestPendingSnapshotQuota(t *testing.T) {
	svc, err := snapshot.New(context.Background(), snapshot.Options{
		Meta: memstore.NewMeta(), Blocks: memstore.NewBlocks(), MaxPendingSnapshots: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := func(acct string) (string, error) {
		out, err := svc.StartSnapshot(context.Background(), snapshot.StartInput{AccountID: acct, VolumeSize: p(int64(1))})
		if err != nil {
			return "", err
		}
		return out.SnapshotID, nil
	}
	first, err := start(account)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := start(account); err != nil {
		t.Fatal(err)
	}
	_, err = start(account)
	wantKind(t, err, ebs.KindConcurrentLimit, "", "limit of 2 pending snapshots")
	// Other accounts have their own quota.
	if _, err := start("999988887777"); err != nil {
		t.Fatalf("another account: %v", err)
	}
	// Completing one frees a slot.
	if _, err := svc.CompleteSnapshot(context.Background(), snapshot.CompleteInput{AccountID: account, SnapshotID: first, ChangedBlocksCount: p("0")}); err != nil {
		t.Fatal(err)
	}
	if _, err := start(account); err != nil {
		t.Fatalf("after completing one: %v", err)
	}
}

// staleIdempotency is a MetaStore whose first GetIdempotency misses: the
// view of a request that checked its ClientToken just before a concurrent
// request with the same token created its snapshot.
type staleIdempotency struct {
	store.MetaStore
	missed atomic.Bool
}

func (m *staleIdempotency) GetIdempotency(ctx context.Context, owner, token string) (store.Idempotency, error) {
	if m.missed.CompareAndSwap(false, true) {
		return store.Idempotency{}, store.ErrNotFound
	}
	return m.MetaStore.GetIdempotency(ctx, owner, token)
}

// TestPendingQuotaReplaysRetry checks that a retry racing its own first
// request replays it, even when that first request took the last slot.
func TestPendingQuotaReplaysRetry(t *testing.T) {
	ctx := context.Background()
	meta := &staleIdempotency{MetaStore: memstore.NewMeta()}
	meta.missed.Store(true) // the first request sees the truth
	svc, err := snapshot.New(ctx, snapshot.Options{Meta: meta, Blocks: memstore.NewBlocks(), MaxPendingSnapshots: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := snapshot.StartInput{AccountID: account, VolumeSize: p(int64(1)), ClientToken: p("tok")}
	first, err := svc.StartSnapshot(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	meta.missed.Store(false) // the retry's check misses
	again, err := svc.StartSnapshot(ctx, in)
	if err != nil || again.SnapshotID != first.SnapshotID {
		t.Fatalf("retry at the limit = %+v, %v; want a replay of %s", again, err, first.SnapshotID)
	}
	if !meta.missed.Load() {
		t.Fatal("the retry never checked its token")
	}
}

// TestPendingQuotaConcurrent starts many snapshots of one account at once.
func TestPendingQuotaConcurrent(t *testing.T) {
	const quota, starts = 2, 32
	svc, err := snapshot.New(context.Background(), snapshot.Options{
		Meta: memstore.NewMeta(), Blocks: memstore.NewBlocks(), MaxPendingSnapshots: quota,
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		ok, full atomic.Int32
		start    = make(chan struct{})
	)
	for range starts {
		wg.Go(func() {
			<-start
			_, err := svc.StartSnapshot(context.Background(), snapshot.StartInput{AccountID: account, VolumeSize: p(int64(1))})
			switch {
			case err == nil:
				ok.Add(1)
			case ebs.KindOf(err) == ebs.KindConcurrentLimit:
				full.Add(1)
			default:
				t.Errorf("StartSnapshot: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != quota || full.Load() != starts-quota {
		t.Fatalf("%d concurrent starts with quota %d: %d succeeded, %d refused", starts, quota, ok.Load(), full.Load())
	}
}
