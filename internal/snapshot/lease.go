package snapshot

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// withLease runs fn holding lease name when the MetaStore is shared by
// several processes (store.Leaser), so that one node at a time does the
// work: the timeout sweep, a copy job. It reports whether fn ran: not
// when another holder has the lease. fn's context is cancelled if the
// lease is lost. With a store of one process's, fn just runs.
func (s *Service) withLease(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	leaser, ok := s.meta.(store.Leaser)
	if !ok {
		return true, fn(ctx)
	}
	l, err := leaser.TryLease(ctx, name)
	if errors.Is(err, store.ErrLeaseHeld) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take lease %q: %w", name, err)
	}
	defer l.Release()
	ctx, cancel := store.LeaseContext(ctx, l)
	defer cancel()
	return true, fn(ctx)
}
