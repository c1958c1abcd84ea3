// Package s3blocks is a store.BlockStore on S3-compatible object storage
// (aws-sdk-go-v2's service/s3), for ebsd's distributed mode: several
// stateless nodes share one bucket and one index in PostgreSQL
// (docs/gc.md §9, issue #13).
//
// # Group objects
//
// Object stores are slow per request and bill per request: MinIO takes a
// few hundred PUTs per second whatever their size. So blocks are not one
// object each: the blocks that concurrent writers Put while earlier
// uploads are in flight form a group, uploaded as one object, a v2 pack
// (internal/pack: file header, then entries with their CRCs) named
// PREFIX/groups/HH/ID.grp. A group is uploaded as soon as an upload slot
// is free (Options.MaxUploads), when it reaches Options.GroupSize, or
// after Options.MaxDelay; the busier the store, the larger its groups. A
// Put returns once its group is durable in both places:
//
//  1. a row in groups, state writing, with the object's size (the
//     group's id, never reused);
//  2. PutObject, with If-None-Match: * where the server honours it
//     (probed at Open, Options.Conditional), so that no object is ever
//     replaced;
//  3. one transaction: the index rows of its entries, and the group
//     sealed. A key another node indexed first keeps its location; this
//     copy is dead bytes.
//
// A failure at any step fails the group's Puts and indexes nothing; a
// group left writing is an orphan that Compact retires after
// Options.WritingTTL and deletes.
//
// A Put of a key already indexed (a dedup hit) uploads nothing but is
// settled with the group it joined, or waits as long as the last upload
// took: a dedup hit is no faster than a write, so that its latency does
// not tell an account whether another stored the content.
//
// # Compression
//
// With Options.Compression, Put compresses each new block (never a dedup
// hit) before it joins a group, outside the group's lock, with one
// pack.Encoder that bounds the CPU it takes: a zstd entry (pack.CodecZstd,
// with the frame's content checksum) when that saves at least 1/16 of the
// block, the block as it is otherwise. The index records both lengths
// (Location), and everything that counts bytes counts stored ones.
// Compaction copies entries as they are and never compresses: that would
// rewrite every group object, a GET, a PUT and the egress of each, to
// save what compressing on write saves for CPU alone.
//
// # Reads
//
// Get looks the key up, reads its entry with one ranged GET and checks
// the entry's header and data CRCs (the service checks SHA-256 for
// plaintext blocks). A compressed entry's stored bytes are read into a
// pooled buffer (or dst's spare room past the block, if it has room for
// both), checked, and decoded into dst; one stored as it is is read
// straight into dst. An entry of a codec this ebsd does not know
// (pack.ErrUnsupported: a newer ebsd wrote it) is an error, not damage. When the object is missing or the entry damaged, Get
// looks the key up again: a compaction that moved it is followed (§7.1);
// otherwise the row is deleted if it still names that copy (quarantine,
// §7.2), so that the key no longer counts as stored and its next Put
// stores it again, and Get returns store.ErrCorrupt.
//
// # Collection: touches are epochs in the index
//
// store.Collectable's Arm must make every Put that starts afterwards,
// dedup hit or new block, count as touched, atomically with the sweep's
// delete. In one process packblocks records that in memory; here the
// Puts run on other nodes too, so Arm advances an epoch in the index
// (s3blocks_epoch), and every touch and every new row carries the epoch
// current at its statement. Sweep deletes a row only if no live key names
// it, it was touched before the epoch its Arm returned, and it still
// names the location scanned, in one conditional DELETE that a
// concurrent touch wins (READ COMMITTED re-evaluates the condition on the
// touched row). A Put that started before Arm is the collector's to cover
// (its drain, or the metadata fence of distributed mode), as for every
// backend. If Arm cannot reach the index, Sweep refuses to run.
//
// Compact copies the entries still indexed in sparse groups into a new
// group and commits, in one transaction, the repoint of each key by
// compare-and-set, the new group sealed and the old ones retiring; the
// objects of retiring groups are deleted Options.ObjectGrace later (a Get
// that misses one looks again anyway), and then their rows.
//
// # Index
//
// The index is the Index interface; PGIndex implements it on PostgreSQL
// with the package's own migrations (component "s3blocks": tables
// block_index, groups, quarantine, s3blocks_epoch). The caller opens the
// pool (internal/pgdb) and owns it.
//
// Stats counts the requests sent to object storage, and PUTs per GiB of
// blocks stored (2048 if each 512 KiB block were an object). Contents is
// what the bucket holds, every node's data, from the index: groups and
// bytes by state, live bytes and blocks, without scanning block_index.
package s3blocks
