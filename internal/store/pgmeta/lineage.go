package pgmeta

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/store"
)

// ViewBlocks implements store.MetaStore: a merge of the chain members' own
// mappings that stops at the page (merge.go), whose first query also
// checks that chain[0] exists (ErrNotFound otherwise).
func (s *Store) ViewBlocks(ctx context.Context, chain []string, start int32, limit int) ([]store.IndexedRef, error) {
	if err := s.enter("ViewBlocks"); err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, nil
	}
	if limit <= 0 {
		_, err := getSnapshot(ctx, s.pool, chain[0])
		return nil, wrapOp("ViewBlocks", err)
	}
	m := newChainMerge(chain, start, limit, true)
	m.head = chain[0]
	out, err := m.run(ctx, s.pool)
	return out, wrapOp("ViewBlocks", err)
}

// queryResolve ranges over writes_layout at each asked index from the
// chain's depth up, a LATERAL scan per index (with = ANY the planner may
// scan the table).
const queryResolve = `SELECT i.idx, w.digest, w.key
	FROM unnest($2::integer[]) AS i(idx)
	CROSS JOIN LATERAL (SELECT digest, key FROM writes
		WHERE root_id = $1 AND block_index = i.idx AND depth <= $3 AND snapshot_id = ANY($4)
		ORDER BY depth DESC LIMIT 1) w`

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
