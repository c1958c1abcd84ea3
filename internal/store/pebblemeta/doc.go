// Package pebblemeta is the embedded store.MetaStore of ebsd, kept in a
// Pebble LSM in one directory.
//
// # Keyspaces
//
// Every key starts with a byte naming its keyspace. Variable-length IDs
// inside a key are length-prefixed (uvarint) and numbers are big-endian and
// fixed-width, so that byte order is numeric order:
//
//	S id                          snapshot record (version byte + JSON)
//	P state id                    empty: index of pending, completing, copying and deleted snapshots
//	O len owner id                empty: the pending ones, by owner (the limit of CreateSnapshot)
//	D len owner id                empty: the snapshots not deleted, by owner (ListSnapshots)
//	I owner 0x00 token            idempotency record (version byte + JSON)
//	W len id index                BlockRef: the snapshot's own writes
//	L len root index ^depth id    BlockRef: the lineage layout
//	R len id [index]              marker / BlockRef: what a completed snapshot's writes replaced (replaced.go)
//	A id                          time of the last PutBlock
//	K name                        secret
//	U len owner                   int64: the owner's usage counter, in blocks (usage.go)
//	V                             format version of the keyspaces
//
// # Lineage reads
//
// All snapshots of one lineage tree share its root's ID, so the L keys of
// a tree sort by index, then by depth from the deepest up, then by ID.
// The mapping of index i in the view of a chain is the first L entry at or
// after (root, i, ^depth(chain[0])) whose ID is in the chain: entries of
// deeper snapshots sort before the seek key, and entries of other branches
// at the same depth or above are skipped one by one. ResolveBlocks seeks
// once per index at most, whatever the chain's length: its indexes
// ascend, so when the next one's entries lie a few entries ahead it steps
// there instead (seekAhead), and a chain of one snapshot reads that
// snapshot's W keys, not the tree's L keys. ViewBlocks moves from one
// index to the next the same way.
//
// ViewBlocks walks the L keys index by index, which costs a seek per
// index written anywhere in the tree at the chain's depth or deeper. For a
// snapshot near the top of a deep or wide tree most of those belong to
// other snapshots, so once they clearly outnumber the blocks found the
// rest of the page comes from a k-way merge of the chain's own W keys
// instead, which costs the chain's entries in range plus an iterator per
// snapshot. A chain of one snapshot reads its W keys directly. Either way
// a page never costs the chain's length times the volume's size.
//
// ListChangedBlocks needs, for an index that only one side wrote below the
// common ancestor, the common ancestor's view of it, which is what the
// oldest of that side's writers replaced. When a child snapshot becomes
// completed, UpdateSnapshot records that in its R keys: each own write's
// mapping and its parent's view at that index, resolved in one pass over
// its W keys (replaced.go). OwnChanges merges the R entries of one side's
// snapshots, so a page costs their entries in range and no seek in the
// lineage tree per index (ImportSnapshot records them too, once the
// parent is in). Roots and snapshots completed before format version 5
// have no R keys (no marker) and are merged from their W keys, their
// indexes resolved by the caller as before.
//
// The P, O and D keys are a function of a record's state and owner,
// written in the same batch as the record (indexes.go), so the upgrade
// from an older format rebuilds them from the records (upgrade.go).
// Deleting a snapshot keeps its record, W, L, A and R keys: a tombstone's
// children still read through them. PurgeSnapshot removes them once the
// collector found that nothing does (purge.go): the W and L keys first,
// in batches, then the record with its index keys and R keys, so a crash part-way
// leaves a record the next purge finishes. A failed snapshot loses its W,
// L and A keys and keeps its record.
//
// MarkView is a Pebble snapshot of the whole database (mark_view.go): the
// collector reads records and W keys of one instant through it.
//
// # Concurrency
//
// PutBlock holds a read lock of its snapshot's stripe while it checks the
// snapshot's state and commits its synced batch, so that concurrent writers
// to one snapshot share Pebble's group commit; UpdateSnapshot holds the
// write lock, so it never runs while a PutBlock of its snapshot is in
// flight. What PutBlock needs of a record (state, root, depth) is cached,
// filled under the read lock and refreshed under the write lock. Creating
// snapshots and secrets serializes on a mutex to make check-and-insert
// atomic; for snapshots the check includes the count of the owner's O
// keys, which UpdateSnapshot keeps in the same batch as the P keys.
// UpdateSnapshot gives fn the A key's time read under the write lock, so
// no PutBlock can land between what fn decides and what is stored.
//
// CreateSnapshot of a child (or a copy) holds the read lock of its
// parent's (and source's) stripe from its check that the parent is
// completed to its commit, so an UpdateSnapshot that deletes the parent
// commits either before the check or after the child. The order in which
// locks are taken is: the stripes, in ascending stripe order (two at most,
// read-locked, by CreateSnapshot; one, write-locked, by UpdateSnapshot
// and by each batch of PurgeSnapshot; one, read-locked, by PutBlock), then
// createMu. No call takes a stripe while it holds createMu, and none takes
// a second stripe while it holds one write-locked, so there is no cycle.
// The new snapshot's own stripe is not locked.
//
// Close waits for the calls in flight and for open MarkViews, so it must
// not be called from a callback of the store's own methods; UpdateSnapshot's
// fn must not call PutBlock, UpdateSnapshot, CreateSnapshot or
// PurgeSnapshot (it holds a stripe lock that another snapshot, or the
// child's parent, may share).
//
// # A full disk
//
// Everything lives on Options.FS (any Pebble vfs.FS, so a test can cut the
// power with vfs.NewCrashableMem). Pebble does not cope with a full disk:
// opening replays the log into a table and retries a failed flush
// forever, and a failed log write panics. So the store keeps away from
// it (space.go): Open opens read-only when less than MinFreeBytes plus
// the log's size is free, and reopens for writing, inside gate.exclusive,
// once that much is free; writes refuse with a SpaceError (errors.Is
// syscall.ENOSPC) while read-only or below half of MinFreeBytes, and
// CheckSpace tells the server to stop taking blocks below MinFreeBytes.
// Pebble's error log is rate-limited, and Open gives up when its context
// ends.
package pebblemeta
