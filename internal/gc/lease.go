package gc

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// leaseName is the lease a collection holds in stores that several
// processes share.
const leaseName = "gc"

// lease takes the collection lease when the metadata store is shared
// (store.Leaser), so that one collection runs across every node: two at
// once would be safe (each fences and sweeps only what it marked dead)
// but would copy the same groups twice. It returns a context that is
// cancelled when the lease is lost, and the function that releases it.
// ErrRunning means another process collects.
func (c *Collector) lease(ctx context.Context) (context.Context, func(), error) {
	l, ok := c.opts.Meta.(store.Leaser)
	if !ok {
		return ctx, func() {}, nil
	}
	lease, err := l.TryLease(ctx, leaseName)
	if errors.Is(err, store.ErrLeaseHeld) {
		return ctx, nil, fmt.Errorf("%w on another node", ErrRunning)
	}
	if err != nil {
		return ctx, nil, fmt.Errorf("take the collection lease: %w", err)
	}
	ctx, cancel := store.LeaseContext(ctx, lease)
	return ctx, func() {
		cancel()
		lease.Release()
	}, nil
}
