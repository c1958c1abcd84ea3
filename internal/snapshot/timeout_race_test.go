package snapshot_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

// hookedMeta is a MetaStore that runs beforeUpdate, once, when
// UpdateSnapshot is first called, before the store does anything: the
// moment a concurrent request can slip in between what the caller read and
// its update.
type hookedMeta struct {
	store.MetaStore
	once         sync.Once
	beforeUpdate func()
}

func (m *hookedMeta) UpdateSnapshot(ctx context.Context, id string, fn func(*store.Snapshot) error) (store.Snapshot, error) {
	if m.beforeUpdate != nil {
		m.once.Do(m.beforeUpdate)
	}
	return m.MetaStore.UpdateSnapshot(ctx, id, fn)
}

// gatedBlocks is a BlockStore whose Put signals entered and then waits for
// release: a block write that takes as long as the test needs.
type gatedBlocks struct {
	store.BlockStore
	entered chan struct{}
	release chan struct{}
}

func (b *gatedBlocks) Put(ctx context.Context, key ebs.Digest, data []byte) error {
	b.entered <- struct{}{}
	<-b.release
	return b.BlockStore.Put(ctx, key, data)
}

// TestTimeoutSparesAcknowledgedPut interleaves a PutSnapshotBlock that
// arrives just before the idle deadline with the sweeper (review F6): the
// Put is still storing its block when the deadline passes and the sweeper
// finds the snapshot idle; it is acknowledged before the sweeper's update
// runs. The snapshot must stay pending: a 201 followed by "Snapshot timed
// out" would lose the upload.
func TestTimeoutSparesAcknowledgedPut(t *testing.T) {
	ctx := context.Background()
	meta := &hookedMeta{MetaStore: memstore.NewMeta()}
	blocks := &gatedBlocks{BlockStore: memstore.NewBlocks(), entered: make(chan struct{}), release: make(chan struct{})}
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	svc, err := snapshot.New(ctx, snapshot.Options{Meta: meta, Blocks: blocks, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, clock: c}
	id := f.start(t, snapshot.StartInput{Timeout: p(int64(10))})

	c.Advance(10*time.Minute - time.Second)
	putErr := make(chan error, 1)
	go func() { putErr <- f.put(id, 0, payload("a")) }()
	<-blocks.entered // the Put found the snapshot writable and is storing
	c.Advance(2 * time.Second)

	var acknowledged error
	meta.beforeUpdate = func() {
		close(blocks.release)
		acknowledged = <-putErr
	}
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if acknowledged != nil {
		t.Fatalf("PutSnapshotBlock: %v; want it acknowledged", acknowledged)
	}
	snap, err := meta.GetSnapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != store.StatePending {
		t.Fatalf("after a Put acknowledged at %v, the sweeper moved the snapshot to %s (%q)", c.Now(), snap.State, snap.StateMessage)
	}
	if got := f.complete(t, id, 1, ""); got != ebs.StatusCompleted {
		t.Fatalf("status = %s, want completed", got)
	}
}

// TestTimeoutStillExpires checks the other side: a Put that lands while
// the snapshot is still idle-but-not-yet-expired does not revive it once
// the sweeper has moved it to error, and the sweeper expires a snapshot
// whose last write is older than its Timeout.
func TestTimeoutStillExpires(t *testing.T) {
	f := newFixture(t)
	id := f.start(t, snapshot.StartInput{Timeout: p(int64(10))})
	f.clock.Advance(5 * time.Minute)
	f.mustPut(t, id, map[int][]byte{1: payload("a")})
	f.clock.Advance(10*time.Minute - time.Second)
	if err := f.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.svc.PendingSnapshots(context.Background()); n != 1 {
		t.Fatalf("pending = %d one second before the deadline, want 1", n)
	}
	f.clock.Advance(time.Second)
	if err := f.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := f.put(id, 2, payload("b"))
	wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "Snapshot timed out")
}

// TestTimeoutRefusesLatePut is the other order: the sweeper expires the
// snapshot while a Put that arrived before the deadline is still storing
// its block. That Put must fail, not be acknowledged into a snapshot that
// is already in error.
func TestTimeoutRefusesLatePut(t *testing.T) {
	ctx := context.Background()
	blocks := &gatedBlocks{BlockStore: memstore.NewBlocks(), entered: make(chan struct{}), release: make(chan struct{})}
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	svc, err := snapshot.New(ctx, snapshot.Options{Meta: memstore.NewMeta(), Blocks: blocks, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, clock: c}
	id := f.start(t, snapshot.StartInput{Timeout: p(int64(10))})

	c.Advance(10*time.Minute - time.Second)
	putErr := make(chan error, 1)
	go func() { putErr <- f.put(id, 0, payload("a")) }()
	<-blocks.entered
	c.Advance(2 * time.Second)
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	close(blocks.release)
	wantKind(t, <-putErr, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "Snapshot timed out")
}
