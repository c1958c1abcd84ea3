package store

import (
	"context"
	"errors"
	"time"
)

// ErrStaleEpoch means PutBlockAt was given an epoch older than the fence
// of a collection that began since the block was stored: the collection
// may sweep the block's key, because its mark cannot see this mapping and
// the key's touch predates it. The caller stores the block again, which
// touches it at the current epoch, and retries with that epoch.
var ErrStaleEpoch = errors.New("store: the block's epoch predates a garbage collection's fence")

// EpochSource is a BlockStore whose touches are epochs shared by every
// process that uses it (the S3 BlockStore's, kept in PostgreSQL): a
// collection advances the epoch when it arms, and its sweep keeps every
// key touched at that epoch or later (docs/gc.md §9).
type EpochSource interface {
	// Epoch returns the current epoch. A Put that starts after Epoch
	// returned touches or stores its key at that epoch or a later one.
	Epoch(ctx context.Context) (uint64, error)
}

// Fenced is a MetaStore that several processes write while one of them
// collects (docs/gc.md §9 "Write path"). A process drains only its own
// writes before it marks; the fence covers every other process's: a write
// stores its block, which touches the key at epoch e or later, and then
// maps it with PutBlockAt(e). Fence(E) waits for the PutBlockAt calls in
// flight and makes every later one with e < E fail. So a mapping either
// committed before the fence, and the mark that follows sees it, or its
// key was touched at E or later, and the sweep keeps it.
type Fenced interface {
	// PutBlockAt is PutBlock for a block whose key the block store stored
	// or touched at epoch or later. It returns ErrStaleEpoch, mapping
	// nothing, when a Fence above epoch was set.
	PutBlockAt(ctx context.Context, id string, index int32, ref BlockRef, now time.Time, epoch uint64) error

	// Fence waits until no PutBlockAt is in flight and sets the fence to
	// epoch, unless it is higher already: it only rises. A collection
	// calls it after arming the block store and before its mark view.
	Fence(ctx context.Context, epoch uint64) error
}
