-- pgmeta schema, version 3: the garbage collection fence (fence.go,
-- docs/gc.md §9). PutBlockAt maps a block only when the epoch at which
-- its key was stored or touched is at least the fence; a collection
-- raises the fence to the epoch it armed at, under an exclusive advisory
-- lock that waits for every PutBlockAt in flight, before it marks.
CREATE TABLE gc_fence (
	id integer PRIMARY KEY CHECK (id = 1),
	fence bigint NOT NULL
);
INSERT INTO gc_fence (id, fence) VALUES (1, 0);
