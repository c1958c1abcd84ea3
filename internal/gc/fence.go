package gc

import (
	"context"
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// fence keeps out the block writes of other processes that share the
// stores (docs/gc.md §9): the drain waits only for this process's. It
// raises the metadata's fence to the block store's epoch, which Arm has
// advanced: a write whose block was stored at an older epoch can no longer
// map it, and one that maps it from now on stored it at this epoch or
// later, which the sweep keeps. Stores that one process owns have no
// fence; it returns 0 for them.
func (c *Collector) fence(ctx context.Context) (uint64, error) {
	fm, ok := c.opts.Meta.(store.Fenced)
	if !ok {
		return 0, nil
	}
	es, ok := c.opts.Blocks.(store.EpochSource)
	if !ok {
		return 0, nil
	}
	epoch, err := es.Epoch(ctx)
	if err != nil {
		return 0, fmt.Errorf("fence: read the epoch: %w", err)
	}
	if err := fm.Fence(ctx, epoch); err != nil {
		return 0, fmt.Errorf("fence at epoch %d: %w", epoch, err)
	}
	return epoch, nil
}
