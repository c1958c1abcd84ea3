package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// staleRetries bounds how often one block write stores its block again
// because a collection fenced out the epoch it was stored at. Each retry
// reads the current epoch, so a second refusal needs a second collection
// to begin during one write.
const staleRetries = 3

// blockFence maps blocks past the fence of garbage collections that other
// processes run (store.Fenced, docs/gc.md §9): each write passes the
// epoch the block store was at before it stored the block. The epoch
// changes once per collection, so it is cached and read again only when a
// fence refuses it; a cached epoch that is too old costs one retry, never
// safety, because the fence checks it.
type blockFence struct {
	meta   store.Fenced
	blocks store.EpochSource
	epoch  atomic.Uint64 // 0: not read yet
}

// newBlockFence returns the fence of stores that several processes share,
// or nil when they are one process's, whose collector drains its writes
// instead (write_gate.go).
func newBlockFence(meta store.MetaStore, blocks store.BlockStore) *blockFence {
	fm, ok1 := meta.(store.Fenced)
	eb, ok2 := blocks.(store.EpochSource)
	if !ok1 || !ok2 {
		return nil
	}
	return &blockFence{meta: fm, blocks: eb}
}

// current returns the cached epoch, reading it on first use.
func (f *blockFence) current(ctx context.Context) (uint64, error) {
	if e := f.epoch.Load(); e != 0 {
		return e, nil
	}
	return f.refresh(ctx)
}

// refresh reads the block store's epoch and caches it.
func (f *blockFence) refresh(ctx context.Context) (uint64, error) {
	e, err := f.blocks.Epoch(ctx)
	if err != nil {
		return 0, err
	}
	// Concurrent refreshes may finish out of order: keep the highest.
	for {
		old := f.epoch.Load()
		if old >= e || f.epoch.CompareAndSwap(old, e) {
			return max(old, e), nil
		}
	}
}

// writeFenced stores a block and maps it at index of snap past the fence:
// the epoch is read before the block is stored, so the store's touch is at
// that epoch or later; a refused mapping means a collection armed since
// and may sweep the key, so the block is stored again at the new epoch.
func (s *Service) writeFenced(ctx context.Context, snap store.Snapshot, index int32, digest ebs.Digest, data []byte) error {
	f := s.fence
	epoch, err := f.current(ctx)
	for attempt := 0; ; attempt++ {
		if err != nil {
			return internal(opPut, fmt.Errorf("read the block store's epoch: %w", err))
		}
		ref, err := s.storeBlock(ctx, snap, digest, data)
		if err != nil {
			return err
		}
		err = f.meta.PutBlockAt(ctx, snap.ID, index, ref, s.now(), epoch)
		if !errors.Is(err, store.ErrStaleEpoch) {
			return err
		}
		if attempt == staleRetries {
			// Collections began one after the other during this one
			// write: rare, and over soon. The SDKs retry a 503.
			return ebs.Wrap(opPut, ebs.KindUnavailable, err,
				"Garbage collections fenced out this block write %d times in a row; retry it.", staleRetries+1)
		}
		s.log.DebugContext(ctx, "block write fenced out by a garbage collection; storing it again",
			"snapshot", snap.ID, "index", index, "epoch", epoch)
		epoch, err = f.refresh(ctx)
	}
}
