// Package snapexport serves a completed EBS snapshot as an nbd.Backend,
// reading it through the EBS direct APIs on demand: ebs nbd.
//
// The block list is read lazily, a page where a read first needs it (a
// 1 TiB sparse volume answers its first read after one
// ListSnapshotBlocks call), and again when its tokens near expiry. Blocks
// are fetched with GetSnapshotBlock when read, verified (client.BlockReader),
// kept in a bounded LRU cache, and read ahead when reads are sequential.
// Unwritten blocks are holes in BlockStatus and read as zeros.
//
// A writable export keeps writes in a local sparse overlay file, with a
// bitmap of the blocks written, persisted on every flush (see overlay.go),
// and Commit turns them into a child snapshot of the exported one that
// holds only the blocks that differ from it.
package snapexport
