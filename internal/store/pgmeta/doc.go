// Package pgmeta is a store.MetaStore and store.MetaCollector on
// PostgreSQL ≥ 14 (pgx v5), for the distributed mode of docs/gc.md §9:
// every node shares one database, and every rule the contract makes
// atomic holds across nodes because it is one SQL transaction.
//
// # Tables (migrations/0001_init.sql, applied by pgdb.Migrate)
//
//	snapshots       record (JSON) + the columns queries and locks need: state, owner, lineage
//	pending_counts  pending snapshots per owner, changed with the state (CreateSnapshot's limit)
//	usage_counts    non-zero mappings per owner, in 16 shards, changed with the mappings
//	idempotency     StartSnapshot's ClientToken records
//	writes          each snapshot's own mappings, with its tree and depth; written_at and seq,
//	                and replaced_counted (migrations/0002, PutBlock's usage delta)
//	replaced        a completed child's mappings with the parent's view each replaced
//	                (migrations/0004, own_changes.go)
//	secrets         server secrets, first writer wins
//
// ViewBlocks and WrittenIndexes merge the chain members' own mappings
// from the primary key, stopping at the page (merge.go). ResolveBlocks
// uses writes_layout, an index of writes on (root, index, depth
// descending, snapshot), as pebblemeta's L keys: the nearest writer of an
// index in a chain is the first row at (root, index) at the chain's depth
// or above that belongs to the chain (lineage.go). A snapshot with a
// parent records, in the transaction that completes it, what each of its
// writes replaced, so that OwnChanges (store.OwnChangeLister) reads both
// sides of a ListChangedBlocks page from the changed snapshots' rows of
// replaced, with the same merge (own_changes.go). A snapshot's
// LastActivity is the written_at of its latest write (highest seq), so
// PutBlocks of one snapshot share no row but the snapshot's, which they
// lock FOR SHARE.
//
// # Concurrency
//
// Transactions are READ COMMITTED and run through pgdb.RetryTx (deadlocks
// and lost connections before the commit are retried, so UpdateSnapshot's
// fn may run more than once, as its contract allows). PutBlock is one
// statement, behind the shared fence lock taken by a statement of its own
// (fence.go), in one implicit transaction (blocks.go), one round trip, run
// through pgdb.RetryStmt (deadlocks and connections never made are
// retried; a connection lost after it was sent is not). PutBlock locks the
// snapshot's row FOR SHARE, UpdateSnapshot and PurgeSnapshot FOR UPDATE,
// behind an advisory lock of the same mode that makes the wait fair
// (fair_lock.go). CreateSnapshot inserts first (ErrExists before anything
// else), then locks the parent and copy source FOR SHARE and checks them
// (a delete either commits before the check or waits for the create), then
// increments the owner's pending count under its row lock (ErrLimit).
// MarkView is a REPEATABLE READ READ ONLY transaction held open.
//
// Errors: the store's sentinels, wrapped; an unreachable or lost server
// is an error that wraps pgdb.ErrUnavailable (a retryable 503 above).
//
// Callbacks (ScanSnapshots, OwnBlocks, ScanUsage, MarkView's) run between
// pages of 1000 rows, holding no connection, so they may call the store.
// UpdateSnapshot's fn runs inside its transaction: it must not call
// PutBlock, UpdateSnapshot, PurgeSnapshot or CreateSnapshot on the same
// snapshot (it holds its lock), and each store call it makes takes a
// second connection from the pool.
package pgmeta
