// Package packblocks is the embedded store.BlockStore: block contents are
// appended to large append-only pack files (format: internal/pack) in a
// local directory, and an index from key to (pack, offset, length) is kept
// in its own Pebble DB.
//
//	Dir/packs/00000000.pack, 00000001.pack, ...   pack files, rotated at Options.PackSize
//	Dir/packs/quarantine/                         copies of damaged bytes found in packs
//	Dir/index/                                    Pebble: key -> location, per-pack watermarks and seals, block count,
//	                                              compaction intents (index.go lists every key)
//
// Every file and directory operation goes through Options.FS, a Pebble
// vfs.FS (the operating system's by default), and so does the index: the
// power-loss tests run the whole store on a crashable in-memory file
// system. Directories are created 0700 and files 0600 where the file
// system has modes; packs hold block data in the clear.
//
// # Writing: group commit
//
// Put returns only once its block is durable, and the cost of durability is
// the fdatasync, so Puts share them. Each Put appends its entry to the
// active pack under the append lock, with the write system calls made from
// the caller's slice (no copy of the block), adds the entry to the pending
// sync group and wakes the syncer, then waits for its group outside the
// lock. One syncer goroutine loops: take the pending group and replace it
// with an empty one (so later appends form the next group), sync the pack
// directory if the group created a pack, fdatasync every pack the group
// wrote to, index the group's entries and the packs' new watermarks in one
// Pebble batch, and wake the group's Puts. While one sync is in flight the
// next group's writes proceed, and the next sync covers all of them, so the
// number of fdatasyncs adapts to the load: one per Put when alone, one per
// dozens of Puts under 64 concurrent uploaders.
//
// With Options.Compression set to CompressionZstdOnWrite, a Put that is
// to append its block first compresses it, outside the lock, into a
// pooled buffer, and appends a zstd entry (pack.CodecZstd) when that saves
// at least 1/16 of the block; a dedup hit compresses nothing. Compressing
// is part of the write's latency, which dedup hits are padded to (Timing,
// below). With CompressionZstd, Put appends blocks as they are and
// compaction compresses them: a complete pack whose sampled entries look
// compressible is a compaction source even without garbage, and each raw
// entry it copies is stored compressed when that saves 1/16, after the
// frame was decoded and compared with the block; outputs, and packs that
// sampling found nothing to gain in, are marked so that this happens once
// (compact_compress.go). The index records each entry's stored length,
// which is what the collector counts (docs/gc.md §8, §8.1).
//
// Concurrent Puts of one key append it once: the first claims the key as
// its Put in flight and checks the index only then; the others wait for
// its outcome (and try themselves if it failed).
//
// A failed write retires the active pack (its torn tail stays last, and a
// new pack takes the next append). A failed fdatasync fails its group and
// marks the packs it covered broken, so that none of their not yet
// acknowledged entries are ever acknowledged: after a failed fsync the
// kernel may have dropped the dirty pages, and a later fsync can succeed
// without them.
//
// # Timing: a dedup hit takes as long as a write
//
// Keys of plaintext blocks are their SHA-256 and the store is shared by
// all accounts, so a Put that returned at once for a stored key would tell
// any account whether anyone stored a chosen block (a timing oracle). A
// Put of a stored key therefore appends nothing but joins the pending
// group like an append and is settled by that group's sync: under load it
// waits exactly as long as the writes of its group. A group with no data at
// all (dedup hits only, on an idle store) syncs the active pack and then
// waits until it has lasted as long as the last group with data did, from
// its first Put's decision to append to the end of its indexing. A dedup
// hit costs a write's latency, not its disk bandwidth. The wait is a timer:
// where timers fire in whole milliseconds, a lone dedup hit on an idle
// store can take up to a millisecond longer than a write (TestDedupLatency
// measures both cases).
//
// # Reading, and corrupt copies
//
// Get looks the key up in Pebble and reads the entry with ReadAt through a
// cache of read-only pack handles (at most Options.MaxOpenFiles, plus the
// reads in flight), so concurrent Gets do not serialize. The entry's header
// must name the key and the data must match its CRC-32C, or Get returns
// store.ErrCorrupt; it never returns other bytes. A copy found corrupt is
// marked so in the index, under the key's claim so that no Put of the key
// decides meanwhile, in a synced batch: the key then no longer counts as
// stored (Has reports false, Get keeps returning ErrCorrupt), and the next
// Put of the content stores a good copy. Otherwise every later snapshot
// holding that block would dedup against the bad copy.
//
// # Crash recovery
//
// Index batches are committed without syncing the Pebble WAL: they only
// ever point at data already fdatasynced. Each batch also sets, per pack, a
// watermark below which every entry is indexed. Open first finishes or
// undoes the compactions a crash interrupted (Store.finishCompactions),
// then syncs the path to Dir and the pack directory (a pack, or a
// directory, may have been created by a process that crashed before
// syncing its entry; a process crash keeps such entries in the page cache,
// where a later power loss still takes them), then scans each pack from
// its watermark to its end and indexes every complete valid entry it
// finds, syncing the pack before committing the batch; the comment of
// Store.recover explains why this loses nothing acknowledged. Bytes that are not a valid entry are never
// cut away: the scan resynchronises at the next valid entry
// (pack.Scanner.Skip), so damage costs only the entries it hits; damaged
// bytes with valid entries after them are copied to packs/quarantine and
// logged at Error level, a torn tail is logged at Warn level, and either
// way the pack is sealed (never appended to again) with its watermark at
// its end, in a synced batch, so it is not scanned again. A pack whose own
// header is torn was never synced and is removed. Open fails, rather than
// guess, when a pack is shorter than its watermark, missing, or of an
// unknown format version, or when it holds an entry of an unknown codec or
// flags (pack.ErrUnsupported: a newer ebsd wrote it), which it neither
// seals nor skips. Packs are written in format version 2 and version 1
// packs are read (and never appended to). With the index deleted, Open
// rebuilds it from the packs, verifying every checksum.
//
// # A full disk
//
// Opening the index for writing replays Pebble's log into a new table,
// which on a full disk Pebble retries forever, and recovery writes index
// batches. So when less than Options.MinFreeBytes plus the size of that
// log is free, Open opens the index read-only and skips recovery: Get and
// Has answer from the index (blocks in pack tails not indexed before the
// last stop are not found until then), Put returns a SpaceError, which
// errors.Is matches with syscall.ENOSPC, and no syncer runs. Every second
// the store looks at the free space; once there is enough it reopens the
// index for writing, runs recovery and starts the syncer, with every call
// held off meanwhile.
//
// # Garbage collection
//
// Store implements store.Collectable (docs/gc.md §3.5, §4, §6, §7). Arm
// starts recording touches: a Put that finds its key stored touches it in
// the same step as its index check (touchMu, held shared by the check and
// exclusively by the syncer's sweep and compaction jobs), and the syncer
// touches every key it indexes. Sweep scans the index and deletes, in
// batches run by the syncer, each key that the caller's live set does not
// hold, that no Put touched, and whose location has not changed since the
// scan; the deletes are not synced (a lost one only leaks). It also
// measures the bytes left in each pack. Compact rewrites the entries the
// index names in the sparsest complete packs (and in every pack of format
// version 1) into a new pack, then repoints the keys and retires the old
// packs in one synced batch, then removes them; an intent key and
// per-pack "retired" keys let Open finish or undo a compaction a crash
// interrupted, and an id high-water mark keeps pack ids from ever being
// reused. Before a pack with damaged bytes goes, entries behind the damage
// that the index does not name are salvaged into the new pack, and
// indexed entries that do not read back are dropped from the index (their
// bytes copied to packs/quarantine and logged at Error level), so that
// their next Put stores them again. A Get that finds its pack gone looks
// the key up again and reads where it moved to; the file cache forgets a
// removed pack, so that no handle keeps its blocks allocated.
package packblocks
