package pgmeta

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/store"
)

// A page of ViewBlocks or WrittenIndexes is a k-way merge of the chain
// members' own mappings, each read in index order from the primary key
// (snapshot_id, block_index), that stops at the page: the cost is a few
// index descents per member and the rows of the page (plus the farther
// writers' rows it hides), whatever the lineage's depth, the number of
// its branches and descendants, or the members' sizes.
//
// A round fetches, in one query, the next rows of every member whose
// fetched rows are used up (a LATERAL index scan each, with a LIMIT of its
// own). Every index up to the frontier, the smallest last fetched index of
// the members that may have more, has all its writers fetched, so the
// merge emits those indexes; the member that set the frontier is then
// used up and fetched again, asking for twice as many rows (never more
// than the page still needs). The first round asks each member for its
// share of the page and a margin, so that a page whose indexes the members
// share about evenly (the common case, and the benchmark's) takes one
// query; a page that one member fills alone takes a few more, doubling.

// queryMergeRefs and queryMergeIndexes fetch a round: for each member
// (c.id, at c.pos in the chain), up to c.n of its own mappings from index
// c.start. Indexes only is an index-only scan of the primary key.
const (
	queryMergeRefs = `SELECT c.pos, w.block_index, w.digest, w.key
		FROM unnest($1::text[], $2::integer[], $3::integer[], $4::integer[]) AS c(id, pos, start, n)
		CROSS JOIN LATERAL (SELECT block_index, digest, key FROM writes
			WHERE snapshot_id = c.id AND block_index >= c.start ORDER BY block_index LIMIT c.n) w`
	queryMergeIndexes = `SELECT c.pos, w.block_index
		FROM unnest($1::text[], $2::integer[], $3::integer[], $4::integer[]) AS c(id, pos, start, n)
		CROSS JOIN LATERAL (SELECT block_index FROM writes
			WHERE snapshot_id = c.id AND block_index >= c.start ORDER BY block_index LIMIT c.n) w`
	// queryMergeOwn is a round of OwnChanges: for each member, its rows
	// of replaced when its snapshot recorded them (own_changes.go), else
	// its rows of writes, with NULLs for what they replaced; one primary
	// key lookup in snapshots per member, and the one-time filters run
	// one of the two scans.
	queryMergeOwn = `SELECT c.pos, w.block_index, w.digest, w.key, s.replaced_recorded, w.replaced_digest, w.replaced_key
		FROM unnest($1::text[], $2::integer[], $3::integer[], $4::integer[]) AS c(id, pos, start, n)
		JOIN snapshots s ON s.id = c.id
		CROSS JOIN LATERAL ((SELECT block_index, digest, key, replaced_digest, replaced_key FROM replaced
			WHERE s.replaced_recorded AND snapshot_id = c.id AND block_index >= c.start ORDER BY block_index LIMIT c.n)
		UNION ALL
		(SELECT block_index, digest, key, NULL, NULL FROM writes
			WHERE NOT s.replaced_recorded AND snapshot_id = c.id AND block_index >= c.start ORDER BY block_index LIMIT c.n)) w`
	// queryExists answers ViewBlocks' ErrNotFound in the first round's
	// round trip.
	queryExists = `SELECT EXISTS (SELECT 1 FROM snapshots WHERE id = $1)`
)

// mergeRow is a fetched row: a mapping and, in an OwnChanges merge, what
// it replaced.
type mergeRow struct {
	store.IndexedRef
	replaced store.BlockRef
	replaces bool // replaced is set
	known    bool // the row's snapshot recorded replaced and replaces
}

// mergeMember is a chain member's place in the merge.
type mergeMember struct {
	rows []mergeRow // fetched and not yet emitted, ascending
	next int32      // the first index not fetched yet
	want int        // how many rows its next fetch asks for
	done bool       // it has no rows from next on
}

// chainMerge merges the own mappings of ids, nearest writer first, from
// start, into a page of at most limit indexes.
type chainMerge struct {
	ids     []string
	limit   int
	refs    bool   // fetch digests and keys (ViewBlocks), or indexes only
	own     bool   // fetch what they replaced too, into changes (OwnChanges)
	head    string // when set, the first round also checks that it exists
	members []mergeMember
	out     []store.IndexedRef
	changes []store.OwnChange // the page of an OwnChanges merge, instead of out
	emitted int               // len(out) or len(changes)
	fetches int               // queries sent, for tests
	fetched int               // rows fetched, for tests
}

func newChainMerge(ids []string, start int32, limit int, refs bool) *chainMerge {
	m := &chainMerge{ids: ids, limit: limit, refs: refs, members: make([]mergeMember, len(ids))}
	share := (limit + len(ids) - 1) / len(ids)
	first := limit // one member: exactly the page
	if len(ids) > 1 {
		first = min(limit, share+2*int(math.Ceil(math.Sqrt(float64(share))))+2)
	}
	for i := range m.members {
		m.members[i] = mergeMember{next: start, want: first}
	}
	return m
}

// run merges until the page is full or every member is used up. It
// returns store.ErrNotFound when head is set and does not exist.
func (m *chainMerge) run(ctx context.Context, db batchQuerier) ([]store.IndexedRef, error) {
	for m.emitted < m.limit {
		if err := m.fetch(ctx, db); err != nil {
			return nil, err
		}
		if !m.emit() {
			break
		}
	}
	return m.out, nil
}

// batchQuerier is a querier that also pipelines batches: a pool.
type batchQuerier interface {
	querier
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// fetch runs one round: the next rows of every member used up.
func (m *chainMerge) fetch(ctx context.Context, db batchQuerier) (err error) {
	var (
		ids          []string
		pos, from, n []int32
	)
	for i := range m.members {
		mb := &m.members[i]
		if mb.done || len(mb.rows) > 0 {
			continue
		}
		ids = append(ids, m.ids[i])
		pos = append(pos, int32(i))
		from = append(from, mb.next)
		n = append(n, int32(mb.want))
	}
	if len(ids) == 0 && m.head == "" {
		return nil
	}
	query := queryMergeIndexes
	switch {
	case m.own:
		query = queryMergeOwn
	case m.refs:
		query = queryMergeRefs
	}
	m.fetches++
	var rows pgx.Rows
	if m.head != "" {
		// The first round of ViewBlocks: the head's existence and the
		// rows in one round trip.
		b := &pgx.Batch{}
		b.Queue(queryExists, m.head)
		if len(ids) > 0 {
			b.Queue(query, ids, pos, from, n)
		}
		res := db.SendBatch(ctx, b)
		defer func() {
			if cerr := res.Close(); err == nil {
				err = cerr
			}
		}()
		var exists bool
		if err := res.QueryRow().Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("snapshot %q: %w", m.head, store.ErrNotFound)
		}
		m.head = ""
		if len(ids) == 0 {
			return nil
		}
		if rows, err = res.Query(); err != nil {
			return err
		}
	} else if rows, err = db.Query(ctx, query, ids, pos, from, n); err != nil {
		return err
	}
	got := make([]int, len(m.members)) // rows fetched per member this round
	// One set of destinations for every row: the byteas are copied into
	// cur's arrays from pgx's buffer (fixedBytes), so a row costs no
	// allocation but its place in rows.
	var (
		p              int32
		cur            mergeRow
		d, k, rd, rk   fixedBytes
		recorded       bool
		withRefs, owns = m.refs || m.own, m.own
	)
	dest := []any{&p, &cur.Index}
	if withRefs {
		d.dst, k.dst = cur.Ref.Digest[:], cur.Ref.Key[:]
		dest = append(dest, &d, &k)
	}
	if owns {
		rd.dst, rk.dst = cur.replaced.Digest[:], cur.replaced.Key[:]
		dest = append(dest, &recorded, &rd, &rk)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		r := cur
		if withRefs && (!d.full() || !k.full()) {
			rows.Close()
			return badRef(r.Index, d, k)
		}
		r.known, r.replaces = false, false
		if owns && recorded {
			r.known = true
			// NULL: the parent's view had no mapping at this index.
			if r.replaces = !rd.null; r.replaces && (!rd.full() || !rk.full()) {
				rows.Close()
				return badRef(r.Index, rd, rk)
			}
		}
		if !r.replaces {
			r.replaced = store.BlockRef{}
		}
		m.members[p].rows = append(m.members[p].rows, r)
		got[p]++
		m.fetched++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range pos {
		mb := &m.members[p]
		// SQL gives the LATERAL rows in no promised order.
		slices.SortFunc(mb.rows, func(a, b mergeRow) int { return cmp.Compare(a.Index, b.Index) })
		last := int32(-1)
		if len(mb.rows) > 0 {
			last = mb.rows[len(mb.rows)-1].Index
		}
		if got[p] < mb.want || last == maxIndex {
			mb.done = true
		} else {
			mb.next = last + 1
		}
		mb.want = max(1, min(2*mb.want, m.limit-m.emitted))
	}
	return nil
}

// emit appends to the page every index up to the frontier (or until the
// page is full), each from its nearest writer (and, in an OwnChanges
// merge, with what its oldest writer replaced), and reports whether
// another round may add to the page.
func (m *chainMerge) emit() bool {
	frontier := int64(math.MaxInt64) // every index up to it is complete
	for i := range m.members {
		if mb := &m.members[i]; !mb.done {
			frontier = min(frontier, int64(mb.rows[len(mb.rows)-1].Index))
		}
	}
	for m.emitted < m.limit {
		lowest, winner := int64(math.MaxInt64), -1
		for i := range m.members {
			if rows := m.members[i].rows; len(rows) > 0 && int64(rows[0].Index) < lowest {
				lowest, winner = int64(rows[0].Index), i
			}
		}
		if winner < 0 || lowest > frontier {
			break
		}
		// Members are nearest first: winner is the nearest writer of
		// lowest, oldest the farthest.
		nearest, oldest := m.members[winner].rows[0], m.members[winner].rows[0]
		for i := range m.members {
			if rows := m.members[i].rows; len(rows) > 0 && int64(rows[0].Index) == lowest {
				oldest = rows[0]
				m.members[i].rows = rows[1:]
			}
		}
		if m.own {
			m.changes = append(m.changes, store.OwnChange{Index: nearest.Index, Ref: nearest.Ref,
				Replaced: oldest.replaced, Replaces: oldest.replaces, Known: oldest.known})
		} else {
			m.out = append(m.out, nearest.IndexedRef)
		}
		m.emitted++
	}
	if frontier == math.MaxInt64 {
		return false // every member is done: the page is all there is
	}
	return true
}

// fixedBytes is a pgtype.BytesScanner that copies a bytea into dst, a
// fixed array's slice, from pgx's buffer, without allocating.
type fixedBytes struct {
	dst  []byte
	n    int  // the length of the value
	null bool // the value was NULL
}

func (f *fixedBytes) ScanBytes(v []byte) error {
	f.null, f.n = v == nil, len(v)
	copy(f.dst, v)
	return nil
}

// full reports whether the value filled dst exactly.
func (f *fixedBytes) full() bool { return !f.null && f.n == len(f.dst) }

// badRef is the error of a mapping whose digest or key has the wrong size.
func badRef(index int32, digest, key fixedBytes) error {
	return fmt.Errorf("mapping of index %d: digest of %d bytes, key of %d: %w", index, digest.n, key.n, store.ErrCorrupt)
}
