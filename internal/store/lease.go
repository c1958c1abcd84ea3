package store

import (
	"context"
	"errors"
)

// ErrLeaseHeld means another holder has the lease TryLease asked for.
var ErrLeaseHeld = errors.New("store: lease held by another holder")

// Leaser is a MetaStore that several processes share and that grants
// named leases among them, so that work which one process should do at a
// time (a garbage collection, the timeout sweep, a copy job) runs on one
// node of a distributed deployment. A lease is for efficiency only: every
// rule that keeps data correct holds inside the stores' atomic
// operations, so two holders at once (a lease lost without its holder
// noticing yet) cost duplicated work, never data.
//
// A store used by one process only does not implement it: the process's
// own locks suffice.
type Leaser interface {
	// TryLease takes lease name, or returns ErrLeaseHeld when another
	// holder has it, in this process or another. It does not wait.
	TryLease(ctx context.Context, name string) (Lease, error)
}

// Lease is a lease that TryLease granted.
type Lease interface {
	// Lost is closed when the lease can no longer be vouched for (the
	// store lost the connection that held it): its holder should stop
	// the work it guards.
	Lost() <-chan struct{}
	// Release gives the lease up. It is safe to call more than once.
	Release()
}

// ErrLeaseLost is the cause of a LeaseContext's cancellation.
var ErrLeaseLost = errors.New("store: lease lost")

// LeaseContext returns a copy of ctx that is cancelled, with cause
// ErrLeaseLost, when l is lost, so that the work l guards stops; cancel
// releases its resources (not the lease).
func LeaseContext(ctx context.Context, l Lease) (_ context.Context, cancel func()) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-l.Lost():
			cancelCause(ErrLeaseLost)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancelCause(nil) }
}
