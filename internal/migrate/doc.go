// Package migrate copies everything one pair of stores holds, a
// store.MetaStore and a store.BlockStore, into another pair: the embedded
// stores of a data directory into PostgreSQL and S3, and back (`ebsd
// migrate`, issue #13). It knows only the store interfaces, so any pair
// of backends works, memstore's included.
//
// # What is copied
//
// The secrets (store.Importer.ScanSecrets, copied through Secret); every
// snapshot record in every state, tombstones included, with its own block
// mappings and its idempotency record (store.Importer.ImportSnapshot,
// which keeps IDs, states, times and lineage exactly, and moves the
// destination's pending counts and usage counters as the source's were
// moved); and every block a mapping references, read from the source
// BlockStore and Put into the destination's. An idempotency record whose
// snapshot was purged is not copied: nothing can enumerate it, and its
// replay would name a snapshot that is gone.
//
// # Order, crashes and re-runs
//
// A snapshot's blocks are Put before its record is imported, and records
// are imported parents (and copy sources) first, each in one atomic write.
// A run that dies therefore leaves the destination holding whole
// snapshots whose ancestors are all there, plus perhaps blocks that no
// mapping references yet (the collector's to reclaim). Running again
// skips the snapshots the destination has (ImportSnapshot is idempotent
// by ID) and Puts only the blocks it lacks (Has; Put of a stored key
// writes nothing).
//
// # The check
//
// After copying, every snapshot of the source is compared with the
// destination's: the record, field by field; the idempotency record; its
// own mappings; its view through the lineage (ViewBlocks over its chain),
// page by page; and every block a mapping references is read back from the
// destination: a plaintext block must hash to its key, an encrypted one
// (whose key is not its content's hash) must hash as the source's stored
// copy does. Each owner's Usage must be equal on both sides. What differs
// is reported, and Run fails with ErrMismatch.
package migrate
