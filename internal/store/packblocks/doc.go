// Package packblocks is the embedded store.BlockStore: block contents are
// appended to large append-only pack files (format: internal/pack) in a
// local directory, and an index from key to (pack, offset, length) is kept
// in its own Pebble DB.
//
//	Dir/packs/00000000.pack, 00000001.pack, ...   pack files, rotated at Options.PackSize
//	Dir/index/                                    Pebble: key -> location, per-pack watermarks, block count
//
// # Writing: group commit
//
// Put returns only once its block is durable, and the cost of durability is
// the fdatasync, so Puts share them. Each Put appends its entry to the
// active pack under the append lock, with the write system calls made from
// the caller's slice (no copy of the block), adds the entry to the pending
// sync group and wakes the syncer, then waits for its group outside the
// lock. One syncer goroutine loops: take the pending group and replace it
// with an empty one (so later appends form the next group), fdatasync every
// pack the group wrote to (and the pack directory if it created a pack),
// index the group's entries and the packs' new watermarks in one Pebble
// batch, and wake the group's Puts. While one sync is in flight the next
// group's writes proceed, and the next sync covers all of them, so the
// number of fdatasyncs adapts to the load: one per Put when alone, one per
// dozens of Puts under 64 concurrent uploaders.
//
// Concurrent Puts of one key append it once: the first registers as the
// key's Put in flight and checks the index only then; the others wait for
// its outcome (and try themselves if it failed).
//
// A failed write retires the active pack (its torn tail stays last, and a
// new pack takes the next append). A failed fdatasync fails its group and
// marks the packs it covered broken, so that none of their not yet
// acknowledged entries are ever acknowledged: after a failed fsync the
// kernel may have dropped the dirty pages, and a later fsync can succeed
// without them.
//
// # Reading
//
// Get looks the key up in Pebble and reads the entry with ReadAt through a
// cache of read-only pack handles, so concurrent Gets do not serialize. The
// entry's header must name the key and the data must match its CRC-32C, or
// Get returns store.ErrCorrupt; it never returns other bytes.
//
// # Crash recovery
//
// Index batches are committed without syncing the Pebble WAL: they only
// ever point at data already fdatasynced. Each batch also sets, per pack, a
// watermark below which every entry is indexed. Open scans each pack from
// its watermark to its end, indexes every complete valid entry it finds
// (syncing the pack before committing the batch) and truncates the pack at
// the first torn or invalid entry; the comment of Store.recover explains
// why this never loses an acknowledged block. A pack whose own header is
// torn was never synced and is removed. Open fails, rather than guess, when
// a pack is shorter than its watermark, missing, or of an unknown format
// version. With the index deleted, Open rebuilds it from the packs,
// verifying every checksum.
//
// Nothing is ever deleted from packs: the BlockStore interface has no
// delete, and garbage collection would rewrite packs into new ones.
package packblocks
