// Package gc is ebsd's garbage collector: it finds the stored blocks that
// no snapshot can read any more (deleted, failed and timed-out snapshots,
// overwritten blocks, orphaned writes) and gives their space back, by
// sweeping them from the block store's index and compacting sparse packs.
//
// It is mark and sweep from a consistent view of the metadata, with the
// block store's touches and the service's write drain closing the window
// of writes in flight. The design and its safety argument are in
// docs/gc.md; this package knows only the storage interfaces.
package gc
