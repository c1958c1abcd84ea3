package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/gc"
	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/pgmeta"
	"github.com/ebsd/ebsd/internal/store/s3blocks"
)

// fenceNode is one node's stores and service, on the shared database and
// bucket, as server.Open assembles them in distributed mode.
type fenceNode struct {
	meta   *pgmeta.Store
	blocks *s3blocks.Store
	svc    *snapshot.Service
}

func openFenceNode(t *testing.T, dsn string, srv *s3test.Server, bucket, name string, wrap func(*pgmeta.Store) store.MetaStore) *fenceNode {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	meta, err := pgmeta.Open(ctx, pgmeta.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = meta.Close() })
	index, err := s3blocks.OpenPGIndex(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := s3blocks.Open(ctx, s3blocks.Options{Client: srv.Client(), Bucket: bucket, Prefix: "ebsd",
		Index: index, Node: name, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blocks.Close() })
	var m store.MetaStore = meta
	if wrap != nil {
		m = wrap(meta)
	}
	svc, err := snapshot.New(ctx, snapshot.Options{Meta: m, Blocks: blocks, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return &fenceNode{meta: meta, blocks: blocks, svc: svc}
}

// stalledPut holds the first PutBlockAt of a node between its block
// store write and its mapping, as a node paused by the scheduler, a GC
// pause or a slow network would.
type stalledPut struct {
	*pgmeta.Store
	once     *sync.Once
	reached  chan struct{}
	resume   chan struct{}
	attempts *[]uint64 // the epochs PutBlockAt was called with
	mu       *sync.Mutex
}

func (p stalledPut) PutBlockAt(ctx context.Context, id string, index int32, ref store.BlockRef, now time.Time, epoch uint64) error {
	p.mu.Lock()
	*p.attempts = append(*p.attempts, epoch)
	p.mu.Unlock()
	p.once.Do(func() {
		close(p.reached)
		<-p.resume
	})
	return p.Store.PutBlockAt(ctx, id, index, ref, now, epoch)
}

func (n *fenceNode) start(t *testing.T) string {
	t.Helper()
	out, err := n.svc.StartSnapshot(t.Context(), snapshot.StartInput{AccountID: ebstest.Alice.AccountID, VolumeSize: aws.Int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	return out.SnapshotID
}

func (n *fenceNode) put(ctx context.Context, id string, index int, data []byte) error {
	_, err := n.svc.PutSnapshotBlock(ctx, snapshot.PutBlockInput{AccountID: ebstest.Alice.AccountID, SnapshotID: id,
		BlockIndex: strconv.Itoa(index), DataLength: aws.String(strconv.Itoa(len(data))),
		Checksum: aws.String(ebstest.Checksum(data)), ChecksumAlgorithm: aws.String("SHA256"), Body: bytes.NewReader(data)})
	return err
}

// TestGCFencesOtherNodes is the distributed collection's safety (docs/gc.md
// §9): node B stores a block that only a deleted snapshot maps, so its key
// is found and touched at the current epoch, and stalls before it maps it.
// Node A collects meanwhile: B's write is not in A's drain, so A's sweep
// deletes the key. B's mapping must then be refused by the fence and the
// block stored again, so that the block B acknowledges is there.
func TestGCFencesOtherNodes(t *testing.T) {
	dsn := pgtest.Start(t)
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	var attempts []uint64
	stall := stalledPut{once: new(sync.Once), reached: make(chan struct{}), resume: make(chan struct{}),
		attempts: &attempts, mu: new(sync.Mutex)}
	a := openFenceNode(t, dsn, srv, bucket, "a", nil)
	b := openFenceNode(t, dsn, srv, bucket, "b", func(m *pgmeta.Store) store.MetaStore {
		stall.Store = m
		return stall
	})
	ctx := t.Context()
	data := ebstest.Random(7)
	key := ebs.Sum(data)

	// On A: a snapshot maps the block, and is deleted.
	old := a.start(t)
	if err := a.put(ctx, old, 0, data); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.CompleteSnapshot(ctx, snapshot.CompleteInput{AccountID: ebstest.Alice.AccountID, SnapshotID: old,
		ChangedBlocksCount: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: ebstest.Alice.AccountID, SnapshotID: &old}); err != nil {
		t.Fatal(err)
	}

	// On B: the same block into a new snapshot, stalled before its mapping.
	id := b.start(t)
	putErr := make(chan error, 1)
	go func() { putErr <- b.put(ctx, id, 0, data) }()
	select {
	case <-stall.reached:
	case err := <-putErr:
		t.Fatalf("B's put returned before its mapping: %v", err)
	}

	// On A: a collection. The deleted snapshot is purged and its block,
	// touched before the collection's epoch and mapped by nothing A can
	// see, is swept.
	collector, err := gc.New(gc.Options{Meta: a.meta, Blocks: a.blocks, Drain: a.svc.DrainWrites})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := collector.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect on A: %v", err)
	}
	if rep.Purged != 1 || rep.Sweep.Swept != 1 || rep.Fence == 0 {
		t.Fatalf("Collect on A: purged %d, swept %d, fence %d; want the deleted snapshot purged, its block swept, a fence set",
			rep.Purged, rep.Sweep.Swept, rep.Fence)
	}

	close(stall.resume)
	if err := <-putErr; err != nil {
		t.Fatalf("B's put after the collection: %v", err)
	}
	stall.mu.Lock()
	t.Logf("B's PutBlockAt epochs: %v; the collection fenced at %d", attempts, rep.Fence)
	stall.mu.Unlock()

	// B acknowledged the block: it must be stored, and mapped.
	if ok, err := a.blocks.Has(ctx, key); err != nil || !ok {
		t.Fatalf("after B acknowledged the block, the block store has it: %v, %v; B's mapping points at nothing", ok, err)
	}
	got, err := a.blocks.Get(ctx, key, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get of the acknowledged block: %d bytes, %v", len(got), err)
	}
	var own []store.IndexedRef
	err = a.meta.OwnBlocks(ctx, id, 0, func(r store.IndexedRef) (bool, error) {
		own = append(own, r)
		return true, nil
	})
	if err != nil || len(own) != 1 || own[0].Ref.Key != key {
		t.Fatalf("B's snapshot maps %v (%v), want block 0 → %v", own, err, key)
	}
	// A later collection keeps it: the pending snapshot is a root.
	if rep, err := collector.Collect(ctx); err != nil || rep.Sweep.Swept != 0 {
		t.Fatalf("second Collect: swept %d, %v", rep.Sweep.Swept, err)
	}
	if ok, err := a.blocks.Has(ctx, key); err != nil || !ok {
		t.Fatalf("after a second collection the block store has the block: %v, %v", ok, err)
	}
}
