-- pgmeta schema, version 1 (docs/gc.md §9). State numbers are store.State:
-- 1 pending, 2 completing, 3 completed, 4 error, 5 deleted, 6 copying.

-- One row per snapshot record, tombstones included. The lineage columns
-- and the state are copies of fields of record (JSON of snapshotRecord),
-- kept for the queries and locks; record is the truth.
CREATE TABLE snapshots (
	id text PRIMARY KEY,
	owner_id text NOT NULL,
	state smallint NOT NULL,
	parent_id text NOT NULL DEFAULT '',
	copy_source_id text NOT NULL DEFAULT '',
	root_id text NOT NULL,
	depth integer NOT NULL,
	record bytea NOT NULL
);
-- ScanSnapshots of the states the sweeper and the collector scan.
CREATE INDEX snapshots_by_state ON snapshots (state, id) WHERE state IN (1, 2, 5, 6);
-- ListSnapshots: an owner's snapshots that are not deleted, in ID order.
CREATE INDEX snapshots_by_owner ON snapshots (owner_id, id) WHERE state <> 5;

-- The number of pending (1, 2, 6) snapshots of each owner, changed in the
-- transaction that changes a snapshot's state: CreateSnapshot's limit
-- reads and increments it under its row lock.
CREATE TABLE pending_counts (
	owner_id text PRIMARY KEY,
	pending bigint NOT NULL
);

-- Each owner's usage in blocks (non-zero mappings of its snapshots), as a
-- sum over shards: PutBlock adds to the shard of its connection, so that
-- concurrent writers of one owner rarely wait on one row lock.
CREATE TABLE usage_counts (
	owner_id text NOT NULL,
	shard smallint NOT NULL,
	blocks bigint NOT NULL,
	PRIMARY KEY (owner_id, shard)
);

CREATE TABLE idempotency (
	owner_id text NOT NULL,
	client_token text NOT NULL,
	request_hash bytea NOT NULL,
	snapshot_id text NOT NULL,
	response bytea NOT NULL,
	PRIMARY KEY (owner_id, client_token)
);

-- The block mappings each snapshot wrote itself (never inherited), with
-- its lineage tree and depth copied in: writes_layout is the L keys of
-- pebblemeta, the nearest writer of an index in a chain being the first
-- row at (root, index) at the chain's depth or above that belongs to the
-- chain. written_at (Unix nanoseconds, as timestamptz keeps only
-- microseconds) is the PutBlock's time and seq its order: the snapshot's
-- LastActivity is the written_at of its highest seq, found through
-- writes_activity, so that concurrent PutBlocks of one snapshot do not
-- queue on one activity row. writes_seq has no cache, so that its order
-- across connections is the order of the calls.
CREATE SEQUENCE writes_seq;
CREATE TABLE writes (
	snapshot_id text NOT NULL,
	block_index integer NOT NULL,
	root_id text NOT NULL,
	depth integer NOT NULL,
	digest bytea NOT NULL,
	key bytea NOT NULL,
	written_at bigint NOT NULL,
	seq bigint NOT NULL,
	PRIMARY KEY (snapshot_id, block_index)
);
CREATE INDEX writes_layout ON writes (root_id, block_index, depth DESC, snapshot_id);
CREATE INDEX writes_activity ON writes (snapshot_id, seq);

CREATE TABLE secrets (
	name text PRIMARY KEY,
	value bytea NOT NULL
);
