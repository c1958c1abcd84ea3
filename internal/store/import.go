package store

import "context"

// Importer is the part of a MetaStore that `ebsd migrate` writes through:
// it takes a snapshot exactly as another MetaStore holds it. The methods
// of MetaStore cannot: CreateSnapshot refuses a child of a deleted parent
// and ignores LastActivity, and PutBlock refuses a completed snapshot, so
// records in every state, tombstones and their children included, need a
// way in that applies no rule of the service.
//
// It is for an offline copy into a store that no server writes to
// meanwhile; it keeps every invariant of the store itself (the pending
// counts, ListSnapshots' index, the lineage layout, Usage), so a server
// started on the result sees what one that made those snapshots would.
type Importer interface {
	// ImportSnapshot stores s with every field as given, LastActivity
	// included, its own block mappings blocks (ascending indexes, each
	// once), and idem when it is not nil, in one atomic, durable write.
	// The owner's pending count, its list of snapshots and its Usage
	// change as they would had s been made through the other methods. It
	// checks no rule of the service: not the parent's or copy source's
	// state, not a pending limit; the caller imports a parent before its
	// children, since the lineage layout is the parent's.
	//
	// When a snapshot with s.ID or an idempotency record with idem's
	// (OwnerID, ClientToken) exists, it stores nothing and returns
	// ErrExists: a migration that runs again skips, and then verifies,
	// what an earlier run imported.
	ImportSnapshot(ctx context.Context, s Snapshot, idem *Idempotency, blocks []IndexedRef) error

	// ScanSecrets calls fn with the name and value of every secret that
	// Secret stored, in name order, until fn returns false or an error.
	ScanSecrets(ctx context.Context, fn func(name string, value []byte) (bool, error)) error
}
