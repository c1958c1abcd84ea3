package snapshot_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

// fencedMeta is a memstore with a fence, as pgmeta has one: PutBlockAt
// refuses epochs below it.
type fencedMeta struct {
	*memstore.Meta
	mu     sync.Mutex
	fence  uint64
	onPut  func(epoch uint64) // before the check
	epochs []uint64
}

func (m *fencedMeta) PutBlockAt(ctx context.Context, id string, index int32, ref store.BlockRef, now time.Time, epoch uint64) error {
	m.mu.Lock()
	m.epochs = append(m.epochs, epoch)
	on := m.onPut
	m.mu.Unlock()
	if on != nil {
		on(epoch)
	}
	m.mu.Lock()
	stale := epoch < m.fence
	m.mu.Unlock()
	if stale {
		return store.ErrStaleEpoch
	}
	return m.PutBlock(ctx, id, index, ref, now)
}

func (m *fencedMeta) Fence(_ context.Context, e uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fence = max(m.fence, e)
	return nil
}

// epochBlocks is a memstore block store with an epoch.
type epochBlocks struct {
	*memstore.Blocks
	mu    sync.Mutex
	epoch uint64
	puts  int
}

func (b *epochBlocks) Epoch(context.Context) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch, nil
}

func (b *epochBlocks) Put(ctx context.Context, key ebs.Digest, data []byte) error {
	b.mu.Lock()
	b.puts++
	b.mu.Unlock()
	return b.Blocks.Put(ctx, key, data)
}

func (b *epochBlocks) advance() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.epoch++
	return b.epoch
}

// A write whose mapping a collection fences out stores its block again
// at the new epoch and maps it; one fenced out every time gets a
// retryable 503, not a 500.
func TestFencedWrite(t *testing.T) {
	meta := &fencedMeta{Meta: memstore.NewMeta()}
	blocks := &epochBlocks{Blocks: memstore.NewBlocks(), epoch: 1}
	svc, err := snapshot.New(context.Background(), snapshot.Options{Meta: meta, Blocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc}
	id := f.start(t, snapshot.StartInput{})

	// A collection arms and fences between the block's store and its
	// mapping, once.
	var once sync.Once
	meta.onPut = func(uint64) {
		once.Do(func() { _ = meta.Fence(context.Background(), blocks.advance()) })
	}
	if err := f.put(id, 0, payload("a")); err != nil {
		t.Fatalf("put across a fence: %v", err)
	}
	if got := meta.epochs; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("PutBlockAt epochs = %v, want [1 2]: refused at the old epoch, then mapped at the new", got)
	}
	if blocks.puts != 2 {
		t.Errorf("the block was stored %d times, want 2: again after the fence, to touch it at the new epoch", blocks.puts)
	}

	// Every mapping attempt fenced out.
	meta.onPut = func(uint64) { _ = meta.Fence(context.Background(), blocks.advance()) }
	err = f.put(id, 1, payload("b"))
	var e *ebs.Error
	if !errors.As(err, &e) || e.Kind != ebs.KindUnavailable {
		t.Fatalf("put fenced out every time = %v, want a KindUnavailable error (503)", err)
	}
}
