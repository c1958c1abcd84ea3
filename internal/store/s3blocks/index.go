package s3blocks

import (
	"context"
	"errors"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Location is where a block's entry is: in which group object, at which
// offset, and how long it is (stored bytes after the entry header, and the
// raw bytes a Get returns).
type Location struct {
	Group     int64
	Off       int64
	StoredLen uint32
	RawLen    uint32
}

// IndexEntry is one key and its location.
type IndexEntry struct {
	Key ebs.Digest
	Loc Location
}

// IndexRow is an index entry as a sweep scans it, with the epoch of its
// last touch.
type IndexRow struct {
	IndexEntry
	Touched uint64
}

// Move is a compaction's repoint of Key from From to To.
type Move struct {
	Key      ebs.Digest
	From, To Location
}

// GroupState is the life of a group object's row (docs/gc.md §9): a row is
// written before its object is uploaded, sealed with the index rows of its
// entries in one transaction, and retired before its object is deleted.
type GroupState string

const (
	GroupWriting  GroupState = "writing"
	GroupSealed   GroupState = "sealed"
	GroupRetiring GroupState = "retiring"
)

// Group is a group's row. Ages are measured by the index's clock (the
// database's), so that the clocks of the nodes do not matter.
type Group struct {
	ID        int64
	Node      string
	State     GroupState
	Size      int64         // bytes of the object
	LiveBytes int64         // bytes of its indexed entries, as the last sweep measured (or the seal)
	Age       time.Duration // since the row was created
	Retired   time.Duration // since it was retired; 0 unless retiring
}

// errGroupNotWriting means Seal found its group no longer writing: an
// orphan collection retired it (its node took longer than the writing TTL).
var errGroupNotWriting = errors.New("s3blocks: the group was retired before it was sealed")

// Index is the block index that several nodes share: which group object
// holds each key, and the groups' states. The PostgreSQL implementation is
// PGIndex; tests also use an in-memory one. Every method is one atomic
// step for the other nodes (a transaction).
//
// Touches are epochs: Arm advances the index's epoch, every touch and every
// new row carries the epoch current at its statement, and a sweep deletes
// only rows touched before the epoch its Arm returned. So a Put on any
// node that starts after Arm returned is kept, without any node knowing
// that a collection runs (docs/gc.md §9).
type Index interface {
	// Touch reports whether key is indexed and, if so, sets its touch to
	// the current epoch, in one step with respect to DeleteUntouched.
	Touch(ctx context.Context, key ebs.Digest) (bool, error)
	// Lookup returns key's location, or store.ErrNotFound.
	Lookup(ctx context.Context, key ebs.Digest) (Location, error)
	// NewGroup adds a group in state writing for node, of size bytes (its
	// object's, about to be uploaded), and returns its id, never used
	// before.
	NewGroup(ctx context.Context, node string, size int64) (int64, error)
	// Seal indexes entries of group at the current epoch and moves the
	// group from writing to sealed with its size, in one transaction. A
	// key indexed already keeps its location (its touch is raised): the
	// first copy indexed wins. It returns errGroupNotWriting, indexing
	// nothing, when the group is no longer writing.
	Seal(ctx context.Context, group, size int64, entries []IndexEntry) error
	// Drop deletes key's row if it still names loc: the copy there was
	// found damaged, and the key stops counting as stored.
	Drop(ctx context.Context, key ebs.Digest, loc Location, reason string) error

	// Arm advances the epoch and returns it: the fence of a sweep.
	Arm(ctx context.Context) (uint64, error)
	// Epoch returns the current epoch (store.EpochSource).
	Epoch(ctx context.Context) (uint64, error)
	// Scan calls fn for every row, in key order.
	Scan(ctx context.Context, fn func(IndexRow) error) error
	// DeleteUntouched deletes each entry whose row still names its
	// location and was touched before fence, and returns those it deleted.
	DeleteUntouched(ctx context.Context, fence uint64, entries []IndexEntry) ([]IndexEntry, error)
	// SetLiveBytes records each group's live bytes, as a sweep measured.
	SetLiveBytes(ctx context.Context, live map[int64]int64) error
	// Groups returns every group row.
	Groups(ctx context.Context) ([]Group, error)
	// GroupEntries returns the rows that name group.
	GroupEntries(ctx context.Context, group int64) ([]IndexEntry, error)
	// Repoint, in one transaction: moves each key whose row still names
	// From to To, seals group to (writing → sealed, with size), and
	// retires the groups in from (→ retiring). It returns how many keys
	// moved. errGroupNotWriting when to is not writing any more.
	Repoint(ctx context.Context, to, size int64, moves []Move, from []int64) (int, error)
	// Retire moves group from state from to retiring, if it is in that
	// state and (for a sealed group) no row names it. It reports whether
	// it did.
	Retire(ctx context.Context, group int64, from GroupState) (bool, error)
	// Forget deletes the row of a retiring group, whose object is gone.
	Forget(ctx context.Context, group int64) error

	// Contents sums the groups by state, and counts the keys indexed
	// (see Contents), without reading every row of the index.
	Contents(ctx context.Context) (Contents, error)
}
