package s3blocks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/store"
)

// Contents is what the bucket holds, as the shared index records it, for
// every node: gauges for operators (internal/server's ebsd_s3_stored_*).
// It is read from sums over the groups table and, for the block count of
// a big store, from PostgreSQL's statistics: a scrape never scans
// block_index, which has a row per distinct block.
type Contents struct {
	Writing, Sealed, Retiring GroupTotal
	// LiveBytes is the bytes of the entries (headers included) that the
	// index names in sealed groups, as the last sweep measured them; a
	// group sealed since counts whole until the next sweep. Sealed.Bytes
	// minus LiveBytes is what compaction can reclaim.
	LiveBytes int64
	// Blocks is the number of keys indexed: exact up to ExactBlocks, and
	// above that the database's estimate (BlocksEstimated).
	Blocks          int64
	BlocksEstimated bool
}

// GroupTotal is the groups in one state and the bytes of their objects.
// A writing group's object is being uploaded, or was left by a node that
// died before sealing it (or never written, if its upload failed).
type GroupTotal struct {
	Groups, Bytes int64
}

// ExactBlocks is up to how many indexed blocks Contents counts exactly,
// with a scan of at most that many rows (a few milliseconds); above it
// Contents takes PostgreSQL's estimate, which costs nothing.
const ExactBlocks = 100_000

// contentsTTL is how long Store.Contents reuses an answer: each node is
// scraped every 15 to 60 s by each Prometheus, the figures change slowly,
// and the groups query reads a row per group object.
const contentsTTL = 30 * time.Second

// contentsCache is Store.Contents' last answer.
type contentsCache struct {
	mu   sync.Mutex // held across the query: concurrent scrapes share one
	at   time.Time  // zero: none, or invalidated
	last Contents
}

// invalidate makes the next Contents ask the index: after this node's
// sweep or compaction, the figures an operator looks at next.
func (c *contentsCache) invalidate() {
	c.mu.Lock()
	c.at = time.Time{}
	c.mu.Unlock()
}

// Contents returns what the bucket holds, as the index said at most
// contentsTTL ago, or since this node's last Sweep or Compact.
func (s *Store) Contents(ctx context.Context) (Contents, error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return Contents{}, fmt.Errorf("s3blocks: contents: %w", store.ErrClosed)
	}
	c := &s.contents
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < contentsTTL {
		return c.last, nil
	}
	got, err := s.index.Contents(ctx)
	if err != nil {
		return Contents{}, fmt.Errorf("s3blocks: contents: %w", err)
	}
	c.last, c.at = got, time.Now()
	return got, nil
}

// add counts a group of state with size and live bytes into c.
func (c *Contents) add(state GroupState, groups, size, live int64) {
	switch state {
	case GroupWriting:
		c.Writing.Groups += groups
		c.Writing.Bytes += size
	case GroupSealed:
		c.Sealed.Groups += groups
		c.Sealed.Bytes += size
		c.LiveBytes += live
	case GroupRetiring:
		c.Retiring.Groups += groups
		c.Retiring.Bytes += size
	}
}

// Contents is one aggregate over groups (a row per object, so up to one
// per block when writers are few, but narrow), a count of block_index that
// stops after ExactBlocks+1 rows, and only past that the planner's
// estimate: reltuples per page, as of the last VACUUM or ANALYZE, times
// the table's pages now.
func (x *PGIndex) Contents(ctx context.Context) (Contents, error) {
	var c Contents
	rows, err := x.pool.Query(ctx, `
SELECT state, count(*), COALESCE(sum(total_bytes), 0)::bigint, COALESCE(sum(live_bytes), 0)::bigint
FROM groups GROUP BY state`)
	if err != nil {
		return c, pgdb.Unavailable(err)
	}
	for rows.Next() {
		var state string
		var n, size, live int64
		if err := rows.Scan(&state, &n, &size, &live); err != nil {
			rows.Close()
			return c, err
		}
		c.add(GroupState(state), n, size, live)
	}
	if err := rows.Err(); err != nil {
		return c, pgdb.Unavailable(err)
	}
	err = x.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM block_index LIMIT $1) t`, ExactBlocks+1).Scan(&c.Blocks)
	if err != nil {
		return c, pgdb.Unavailable(err)
	}
	if c.Blocks <= ExactBlocks {
		return c, nil
	}
	c.BlocksEstimated = true
	var est *float64 // NULL before the first ANALYZE
	err = x.pool.QueryRow(ctx, `
SELECT reltuples / relpages * (pg_relation_size(oid) / current_setting('block_size')::float8)
FROM pg_class WHERE oid = 'block_index'::regclass AND relpages > 0 AND reltuples > 0`).Scan(&est)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return c, pgdb.Unavailable(err)
	case est != nil:
		c.Blocks = max(c.Blocks, int64(*est))
	}
	return c, nil
}
