package store

import "context"

// OwnChangeLister is a MetaStore capability that ListChangedBlocks uses
// when the backend has it (pebblemeta and pgmeta do; memstore does not).
// Without it, the index that only one side of a comparison wrote costs a
// ResolveBlocks in the common ancestor's chain: a random lookup per index
// in a deep lineage (issue 14). A backend with it records, when a snapshot
// completes, the mapping each of its own writes replaced (its parent's
// view at that index), so that one pass over the own writes of one side
// yields both that side's mapping and the common ancestor's.
type OwnChangeLister interface {
	// OwnChanges returns up to limit indexes >= start, ascending, each
	// once, written by the snapshots own themselves: a part of a chain,
	// nearest first, whose last snapshot is a child of the common
	// ancestor the caller compares through, every one of them completed
	// (a tombstone included). Ref is the mapping of the nearest of them
	// that wrote the index, as ViewBlocks(own) gives it. When Known,
	// Replaced and Replaces tell the mapping the oldest of them that wrote
	// the index replaced: its parent's view at that index, which is the
	// common ancestor's view (no snapshot between them wrote it); Replaces
	// is false when that view had no mapping. Known is false when that
	// snapshot has no record of it (it completed before the backend
	// recorded them): the caller resolves the index in the common
	// ancestor's chain instead.
	OwnChanges(ctx context.Context, own []string, start int32, limit int) ([]OwnChange, error)
}

// OwnChange is one index of OwnChanges.
type OwnChange struct {
	Index    int32
	Ref      BlockRef // the nearest own writer's mapping
	Replaced BlockRef // the oldest own writer's parent's mapping, when Replaces
	Replaces bool     // the parent's view had a mapping (meaningful when Known)
	Known    bool     // Replaced and Replaces are recorded
}
