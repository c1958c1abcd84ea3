package store

import (
	"context"

	"github.com/ebsd/ebsd/internal/ebs"
)

// LiveSet answers whether a storage key is reachable from a snapshot that
// may still be read: the mark of a collection (docs/gc.md §3.4). It may
// answer true for a dead key (a Bloom filter's false positive), which only
// keeps that key one more collection; it never answers false for a key it
// was given.
type LiveSet interface {
	Has(key ebs.Digest) bool
}

// Collectable is the part of a BlockStore that the garbage collector
// drives (docs/gc.md §3.5, §4, §6). A backend that cannot collect does not
// implement it, and its store never gives space back.
//
// One collection is: Arm; advance the epoch and fence out older writers
// (MetaStore); mark the live keys from a consistent view of the mappings;
// Sweep; Compact; disarm. Only one collection runs at a time; the caller
// guarantees it (a lease, or the data directory's lock).
type Collectable interface {
	// Arm starts recording touches: from now until disarm is called, every
	// key a Put finds already stored and every key a Put stores counts as
	// touched, so that Sweep keeps it. The check that a key is stored and
	// its touch are one atomic step with respect to Sweep's delete of it.
	// The collector arms before it advances the epoch: a Put that reads
	// the new epoch must find its touches recorded.
	Arm() (disarm func())

	// Sweep deletes from the index every key that live does not hold and
	// that no Put touched since Arm, each only if the index still names
	// the location the sweep scanned. It must be called while armed. It
	// also measures how many live bytes each pack holds, for Compact.
	Sweep(ctx context.Context, live LiveSet) (SweepReport, error)

	// Compact rewrites the live entries of the sparsest sealed packs into
	// new packs and removes the old ones, within opts' bounds, using the
	// live bytes the last Sweep measured. Every key indexed before keeps
	// its content and stays readable throughout, by concurrent Gets
	// included; a crash at any step loses nothing indexed.
	Compact(ctx context.Context, opts CompactOptions) (CompactReport, error)
}

// SweepReport is what one Sweep did.
type SweepReport struct {
	Scanned    int64 // index entries read
	Swept      int64 // index entries deleted
	SweptBytes int64 // stored bytes of the deleted entries
	Kept       int64 // dead keys kept because a Put touched them
	LiveBytes  int64 // stored bytes of the entries left
	PackBytes  int64 // bytes of all pack files
}

// CompactOptions bound one Compact.
type CompactOptions struct {
	// MinLive is the live fraction below which a sealed pack is compacted;
	// 0 means 0.5.
	MinLive float64
	// MaxBytes bounds the live bytes copied in one call; 0 means no bound.
	MaxBytes int64
	// Rate bounds, in bytes per second, what compaction reads and writes
	// while Puts are being written, so that a collection leaves the disk
	// to them (docs/gc.md §4 "Pacing"); with no Put running it goes at
	// the disk's speed. 0 means no bound.
	Rate int64
}

// CompactReport is what one Compact did.
type CompactReport struct {
	PacksCompacted int   // packs whose live entries were copied, then removed
	PacksRemoved   int   // packs removed, those with no live entry included
	BytesCopied    int64 // live bytes rewritten
	BytesReclaimed int64 // pack bytes removed minus bytes written
}

// MetaCollector is the part of a MetaStore that the garbage collector
// uses: a consistent view to mark from, and the purge of what the mark
// found unneeded (docs/gc.md §3.3, §4).
type MetaCollector interface {
	// MarkView returns a read-only view of every record and mapping at
	// one instant. The collector must see records and mappings from the
	// same instant: a live scan could miss a child created behind its
	// cursor and then find the child's parent deleted, and judge the
	// parent's blocks dead while the child reads them.
	MarkView(ctx context.Context) (MarkView, error)

	// PurgeSnapshot removes what nothing needs any more, as the collector
	// found from a MarkView: a StateDeleted snapshot's mappings and then
	// its record; a StateError snapshot's mappings and LastActivity only
	// (its record stays listed, as AWS lists failed snapshots until they
	// are deleted). It
	// returns ErrNotWritable, removing nothing, for a snapshot in any
	// other state, and nil for one already purged. A crash part-way
	// leaves a snapshot the next PurgeSnapshot finishes.
	PurgeSnapshot(ctx context.Context, id string) error
}

// MarkView is a consistent read-only view of a MetaStore (see
// MetaCollector.MarkView). Close releases it: the store's Close may wait
// for it. Its methods return ErrClosed after Close.
type MarkView interface {
	// Snapshots calls fn for every record in the view, tombstones
	// included, in no particular order, until fn returns false or an
	// error.
	Snapshots(ctx context.Context, fn func(Snapshot) (bool, error)) error
	// OwnBlocks is MetaStore.OwnBlocks in the view.
	OwnBlocks(ctx context.Context, id string, start int32, fn func(IndexedRef) (bool, error)) error
	Close() error
}
