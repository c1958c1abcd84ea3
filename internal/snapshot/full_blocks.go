package snapshot

import (
	"context"
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// fullBlocksBatch is how many own block indexes are resolved against the
// parent's view at a time.
const fullBlocksBatch = 1024

// fullBlocks counts the written blocks of snap's view, its own and the ones
// it inherits: EC2's FullSnapshotSizeInBytes is that count × 512 KiB. It is
// the parent's count plus the snapshot's own writes to indexes the parent's
// view lacks, so its cost grows with what the snapshot wrote, not with the
// volume. A parent that has no count (completed before ebsd kept one, or
// empty) is counted once through its view.
func (s *Service) fullBlocks(ctx context.Context, snap store.Snapshot) (int64, error) {
	var (
		base   int64
		pchain []string
	)
	if snap.ParentID != "" {
		p, err := s.meta.GetSnapshot(ctx, snap.ParentID)
		if err != nil {
			return 0, fmt.Errorf("parent %s of %s: %w", snap.ParentID, snap.ID, err)
		}
		if pchain, err = s.chain(ctx, p); err != nil {
			return 0, err
		}
		base = p.FullBlocks
		if base == 0 {
			if base, err = s.countView(ctx, pchain); err != nil {
				return 0, err
			}
		}
	}
	var (
		added int64
		batch = make([]int32, 0, fullBlocksBatch)
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if pchain == nil {
			added += int64(len(batch))
		} else {
			_, found, err := s.meta.ResolveBlocks(ctx, pchain, batch)
			if err != nil {
				return err
			}
			for _, f := range found {
				if !f {
					added++
				}
			}
		}
		batch = batch[:0]
		return nil
	}
	err := s.meta.OwnBlocks(ctx, snap.ID, 0, func(b store.IndexedRef) (bool, error) {
		batch = append(batch, b.Index)
		if len(batch) == cap(batch) {
			return true, flush()
		}
		return true, nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return 0, fmt.Errorf("count the blocks of %s: %w", snap.ID, err)
	}
	return base + added, nil
}

// countView counts the written blocks of the view of chain, page by page.
func (s *Service) countView(ctx context.Context, chain []string) (int64, error) {
	var n int64
	start := int32(0)
	for {
		refs, err := s.meta.ViewBlocks(ctx, chain, start, 10000)
		if err != nil {
			return 0, err
		}
		n += int64(len(refs))
		if len(refs) < 10000 {
			return n, nil
		}
		start = refs[len(refs)-1].Index + 1
	}
}
