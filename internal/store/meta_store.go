package store

import (
	"context"
	"time"
)

// MetaStore keeps snapshot records, block mappings, idempotency records and
// server secrets. All methods are safe for concurrent use.
//
// Block mappings are kept per snapshot, written blocks only: a child never
// copies its parent's mappings. Reads through the lineage take a chain, the
// snapshot's ID followed by its ancestors' IDs nearest first, which the
// caller builds from the records' ParentID; the store resolves each index to
// the mapping of the first snapshot in the chain that wrote it. Backends
// keep these reads proportional to the blocks they return, not to the
// chain's length times the volume size.
type MetaStore interface {
	// CreateSnapshot stores a new snapshot record and, when idem is not nil,
	// its idempotency record, atomically: both or neither. It returns
	// ErrExists, storing nothing, when a snapshot with s.ID or an
	// idempotency record with idem's (OwnerID, ClientToken) already exists.
	//
	// maxPending bounds the snapshots of s.OwnerID that are pending, that
	// is in a state whose Pending() is true: when maxPending > 0 and s is
	// pending, CreateSnapshot returns ErrLimit, storing nothing, if the
	// owner already has maxPending or more of them. The count and the
	// insert are one atomic step, so concurrent creates never exceed
	// maxPending. ErrExists takes precedence over ErrLimit, so that a
	// retried request finds its idempotency record even at the limit.
	// The count must not cost a scan of other owners' snapshots: backends
	// keep it per owner, in the same atomic write as every state change
	// that enters or leaves pending (in SQL, a counter row per owner updated
	// in the same transaction as the snapshot row).
	//
	// When s.ParentID is set, CreateSnapshot stores nothing and returns
	// ErrNotFound unless that snapshot exists and is StateCompleted at the
	// commit, atomically with respect to UpdateSnapshot on it: a parent
	// deleted concurrently either fails the create or is deleted after
	// it, never between a check and the insert (docs/gc.md I4, §5.2). The
	// same holds for s.CopySourceID when it is set. ErrExists takes
	// precedence over this ErrNotFound too, so that a retried request
	// finds its records after its parent was deleted.
	CreateSnapshot(ctx context.Context, s Snapshot, idem *Idempotency, maxPending int) error

	// GetSnapshot returns the record of snapshot id, or ErrNotFound.
	GetSnapshot(ctx context.Context, id string) (Snapshot, error)

	// UpdateSnapshot reads snapshot id, calls fn on it, and stores what fn
	// left, atomically with respect to other UpdateSnapshot and PutBlock
	// calls on the same snapshot: no PutBlock is in flight while fn runs, so
	// a PutBlock that returned nil before UpdateSnapshot changed State is
	// visible to OwnBlocks afterwards, and the record fn gets carries that
	// PutBlock's time in LastActivity. fn must not change ID; a change to
	// LastActivity is not stored. When fn returns an error nothing is stored
	// and UpdateSnapshot returns it. fn may be called more than once (a SQL
	// backend retries a transaction that lost a race), so it must only
	// compute the new record from the one it gets. It returns ErrNotFound
	// when the snapshot does not exist.
	//
	// fn may set State to StateDeleted (DeleteSnapshot); the backend then
	// drops the snapshot from its owner's ListSnapshots index, and from
	// the pending count when it was pending, in the same atomic write.
	// Block mappings stay: a tombstone's children still read through it.
	// A change of State away from StateDeleted is refused with
	// ErrNotWritable, storing nothing. fn must not call CreateSnapshot
	// with id as the parent or copy source (a backend may hold id's lock).
	UpdateSnapshot(ctx context.Context, id string, fn func(*Snapshot) error) (Snapshot, error)

	// ScanSnapshots calls fn for every snapshot in one of the given states
	// (all states when none are given), in no particular order, until fn
	// returns false or an error. Backends make scanning StatePending,
	// StateCompleting, StateCopying and StateDeleted cheap; scanning other states may
	// cost a full scan.
	ScanSnapshots(ctx context.Context, fn func(Snapshot) (bool, error), states ...State) error

	// ListSnapshots returns up to limit snapshots of ownerID that are not
	// StateDeleted, in ascending ID order, starting after the ID after
	// ("" for the first). Its cost grows with what it returns, not with
	// the other owners' snapshots or the owner's deleted ones: backends
	// keep an index per owner, written in the same atomic write as the
	// record, and drop a snapshot from it in the write that deletes it.
	ListSnapshots(ctx context.Context, ownerID, after string, limit int) ([]Snapshot, error)

	// GetIdempotency returns the idempotency record of (ownerID, token), or
	// ErrNotFound.
	GetIdempotency(ctx context.Context, ownerID, token string) (Idempotency, error)

	// PutBlock maps block index of snapshot id to ref, replacing any earlier
	// mapping of that index in that snapshot, and records now as the
	// snapshot's LastActivity. It returns ErrNotFound when the snapshot does
	// not exist and ErrNotWritable, storing nothing, when its State is not
	// StatePending or StateCopying. It is durable when it returns.
	PutBlock(ctx context.Context, id string, index int32, ref BlockRef, now time.Time) error

	// OwnBlocks calls fn for each block written in snapshot id itself (not
	// inherited), in ascending index order starting at start, until fn
	// returns false or an error.
	OwnBlocks(ctx context.Context, id string, start int32, fn func(IndexedRef) (bool, error)) error

	// WrittenIndexes returns, in ascending order and without duplicates, up
	// to limit block indexes >= start written in any of the snapshots ids
	// themselves (not inherited).
	WrittenIndexes(ctx context.Context, ids []string, start int32, limit int) ([]int32, error)

	// ViewBlocks returns up to limit blocks of the view of chain (see the
	// type comment), in ascending index order from start, each index once,
	// mapped as chain's nearest writer of that index mapped it.
	ViewBlocks(ctx context.Context, chain []string, start int32, limit int) ([]IndexedRef, error)

	// ResolveBlocks returns, for each of indexes (ascending, no duplicates),
	// the mapping of that index in the view of chain; found[i] is false when
	// no snapshot in chain wrote indexes[i].
	ResolveBlocks(ctx context.Context, chain []string, indexes []int32) (refs []BlockRef, found []bool, err error)

	// Usage returns how many blocks ownerID's snapshots wrote: the
	// OwnBlocks entries whose Digest is not ebs.ZeroBlockDigest, summed
	// over every snapshot of ownerID whose mappings are not purged
	// (tombstones and failed snapshots count until PurgeSnapshot removes
	// their mappings). An overwrite of an index counts once. It is exact
	// and durable: backends keep a counter per owner, changed in the same
	// atomic write as the mapping that changes it (PutBlock,
	// PurgeSnapshot), never recomputed by a scan (docs/gc.md §11). The
	// service's storage quota is checked against it.
	Usage(ctx context.Context, ownerID string) (int64, error)

	// ScanUsage calls fn with the Usage of every owner whose Usage is not
	// zero, in no particular order, until fn returns false or an error.
	ScanUsage(ctx context.Context, fn func(ownerID string, blocks int64) (bool, error)) error

	// Secret returns the secret stored under name, first storing the result
	// of generate when there is none. Concurrent callers, including other
	// processes sharing the store, all get the same secret.
	Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)

	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}
