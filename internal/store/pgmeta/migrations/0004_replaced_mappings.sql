-- pgmeta schema, version 4: what each write of a completed snapshot
-- replaced, for ListChangedBlocks (store.OwnChangeLister, own_changes.go).
--
-- replaced has a row for each row of writes of a snapshot whose
-- replaced_recorded is true: the write's own mapping (digest, key) and
-- its parent's view at that index (replaced_digest, replaced_key; NULL:
-- the parent's view had no mapping there). UpdateSnapshot inserts them,
-- and sets replaced_recorded, in the transaction that makes a snapshot
-- with a parent completed; a snapshot's mappings never change after that,
-- nor do its ancestors'. A table of its own, inserted once, rather than
-- columns of writes: an UPDATE of writes would leave a dead version of
-- every row and its entries in the three indexes of writes until a
-- vacuum, which slowed every read of writes by a quarter (measured).
--
-- Snapshots completed before this version (replaced_recorded false), roots,
-- snapshots imported without their chain have no rows here, and
-- ListChangedBlocks resolves their indexes in the common chain, as before.
-- A constant default and a new table: quick on a database with rows.
CREATE TABLE replaced (
	snapshot_id text NOT NULL,
	block_index integer NOT NULL,
	digest bytea NOT NULL,
	key bytea NOT NULL,
	replaced_digest bytea,
	replaced_key bytea,
	PRIMARY KEY (snapshot_id, block_index)
);
ALTER TABLE snapshots ADD COLUMN replaced_recorded boolean NOT NULL DEFAULT false;
