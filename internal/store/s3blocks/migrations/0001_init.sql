-- The S3 block store's index (docs/gc.md §9). A group object's row is
-- written before its upload, sealed with its entries' rows in one
-- transaction, and retired before its object is deleted.
CREATE TABLE s3blocks_epoch (
	id integer PRIMARY KEY CHECK (id = 1),
	-- advanced by each collection's Arm; touches and new rows carry it
	epoch bigint NOT NULL
);
INSERT INTO s3blocks_epoch (id, epoch) VALUES (1, 1);

CREATE TABLE groups (
	id bigserial PRIMARY KEY,
	node text NOT NULL,
	state text NOT NULL CHECK (state IN ('writing', 'sealed', 'retiring')),
	total_bytes bigint NOT NULL DEFAULT 0,
	live_bytes bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	retired_at timestamptz
);

CREATE TABLE block_index (
	key bytea PRIMARY KEY,
	group_id bigint NOT NULL REFERENCES groups (id),
	off bigint NOT NULL,
	stored_len integer NOT NULL,
	raw_len integer NOT NULL,
	touched bigint NOT NULL
);
CREATE INDEX block_index_group ON block_index (group_id);

CREATE TABLE quarantine (
	key bytea NOT NULL,
	group_id bigint NOT NULL,
	off bigint NOT NULL,
	reason text NOT NULL,
	at timestamptz NOT NULL DEFAULT now()
);
