package pgmeta

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/store"
)

// ViewBlocks implements store.MetaStore. It reads chain[0]'s record for
// its lineage tree and depth, and returns ErrNotFound when there is none.
// A chain of one snapshot is its own mappings. Longer chains scan the
// tree's writes_layout from start, in (index, depth descending) order,
// taking at each index the first row at the chain's depth or above that
// belongs to the chain: the nearest writer. Rows of descendants and other
// branches cost a row each without giving a block, so the scan is bounded
// (layoutBudget rows); when it runs out first, the rest of the page comes
// from mergeView, which costs at most len(chain) × the rest. Either way a
// page never costs the chain's length times the volume's size.
func (s *Store) ViewBlocks(ctx context.Context, chain []string, start int32, limit int) ([]store.IndexedRef, error) {
	if err := s.enter("ViewBlocks"); err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, nil
	}
	head, err := getSnapshot(ctx, s.pool, chain[0])
	if err != nil {
		return nil, wrapOp("ViewBlocks", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	var out []store.IndexedRef
	if len(chain) == 1 {
		out, err = ownPage(ctx, s.pool, head.ID, start, limit)
	} else {
		out, err = s.view(ctx, head, chain, start, limit)
	}
	return out, wrapOp("ViewBlocks", err)
}

// The lineage reads. queryLayout scans a tree's writes_layout from an
// index in (index, depth descending) order; queryMerge takes the first $3
// mappings of each chain member from $2 (an index scan of the primary key
// each) and keeps the nearest writer's at each index; queryResolve ranges
// over writes_layout at each asked index from the chain's depth up, a
// LATERAL scan per index (with = ANY the planner may scan the table).
const (
	queryLayout = `SELECT block_index, depth, snapshot_id, digest, key FROM writes
		WHERE root_id = $1 AND block_index >= $2
		ORDER BY block_index, depth DESC LIMIT $3`
	queryMerge = `SELECT DISTINCT ON (w.block_index) w.block_index, w.digest, w.key
		FROM unnest($1::text[]) WITH ORDINALITY AS c(id, pos)
		CROSS JOIN LATERAL (SELECT block_index, digest, key FROM writes
			WHERE snapshot_id = c.id AND block_index >= $2 ORDER BY block_index LIMIT $3) w
		ORDER BY w.block_index, c.pos LIMIT $3`
	queryResolve = `SELECT i.idx, w.digest, w.key
		FROM unnest($2::integer[]) AS i(idx)
		CROSS JOIN LATERAL (SELECT digest, key FROM writes
			WHERE root_id = $1 AND block_index = i.idx AND depth <= $3 AND snapshot_id = ANY($4)
			ORDER BY depth DESC LIMIT 1) w`
)

// layoutBudget bounds the rows view scans in the layout: as pebblemeta,
// a few per chain member and per block asked for.
func layoutBudget(chain, limit int) int { return 32 + 8*chain + 3*limit }

func (s *Store) view(ctx context.Context, head store.Snapshot, chain []string, start int32, limit int) ([]store.IndexedRef, error) {
	budget := layoutBudget(len(chain), limit)
	rows, err := s.pool.Query(ctx, queryLayout, rootOf(head), start, budget)
	if err != nil {
		return nil, err
	}
	members := make(map[string]bool, len(chain))
	for _, id := range chain {
		members[id] = true
	}
	var (
		out      []store.IndexedRef
		n        int   // rows read
		last     int32 // index of the last row read
		answered bool  // last has its writer in out
	)
	for rows.Next() {
		var (
			r     store.IndexedRef
			depth int
			id    string
			d, k  []byte
		)
		if err := rows.Scan(&r.Index, &depth, &id, &d, &k); err != nil {
			rows.Close()
			return nil, err
		}
		if n == 0 || r.Index != last {
			last, answered = r.Index, false
		}
		n++
		if answered || depth > head.Depth || !members[id] {
			continue // a farther writer, a descendant's or another branch's
		}
		if r.Ref, err = toRef(r.Index, d, k); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
		answered = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) >= limit {
		return out[:limit], nil
	}
	if n < budget {
		return out, nil // the scan reached the end of the tree
	}
	// The budget ran out: the last index read may have more rows.
	next := last
	if answered {
		if last == maxIndex {
			return out, nil
		}
		next = last + 1
	}
	rest, err := mergeView(ctx, s.pool, chain, next, limit-len(out))
	return append(out, rest...), err
}

// mergeView returns up to limit blocks of the view of chain from start
// from the chain's own mappings: the first limit of each snapshot (an
// index scan each), the nearest writer's entry kept at each index.
func mergeView(ctx context.Context, q querier, chain []string, start int32, limit int) ([]store.IndexedRef, error) {
	rows, err := q.Query(ctx, queryMerge, chain, start, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanIndexedRef)
}

// ResolveBlocks implements store.MetaStore with one query: for each index,
// an index range scan of writes_layout at (root, index) from the chain's
// depth up, whose first row in the chain is the nearest writer. It returns
// ErrNotFound when chain[0] does not exist, like ViewBlocks.
func (s *Store) ResolveBlocks(ctx context.Context, chain []string, indexes []int32) ([]store.BlockRef, []bool, error) {
	if err := s.enter("ResolveBlocks"); err != nil {
		return nil, nil, err
	}
	refs := make([]store.BlockRef, len(indexes))
	found := make([]bool, len(indexes))
	if len(chain) == 0 {
		return refs, found, nil
	}
	head, err := getSnapshot(ctx, s.pool, chain[0])
	if err != nil {
		return nil, nil, wrapOp("ResolveBlocks", err)
	}
	if len(indexes) == 0 {
		return refs, found, nil
	}
	rows, err := s.pool.Query(ctx, queryResolve, rootOf(head), indexes, head.Depth, chain)
	if err != nil {
		return nil, nil, wrapOp("ResolveBlocks", err)
	}
	got, err := pgx.CollectRows(rows, scanIndexedRef)
	if err != nil {
		return nil, nil, wrapOp("ResolveBlocks", err)
	}
	for _, r := range got {
		if i, ok := slices.BinarySearch(indexes, r.Index); ok {
			refs[i], found[i] = r.Ref, true
		}
	}
	return refs, found, nil
}

// toRef builds a BlockRef from a row's digest and key.
func toRef(index int32, digest, key []byte) (store.BlockRef, error) {
	var ref store.BlockRef
	if len(digest) != len(ref.Digest) || len(key) != len(ref.Key) {
		return ref, fmt.Errorf("mapping of index %d: digest of %d bytes, key of %d: %w", index, len(digest), len(key), store.ErrCorrupt)
	}
	copy(ref.Digest[:], digest)
	copy(ref.Key[:], key)
	return ref, nil
}
