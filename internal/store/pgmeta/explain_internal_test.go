package pgmeta

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/store"
)

// TestExplain prints the plans of the main queries over a lineage of 20
// snapshots of 2000 writes each, with EXPLAIN ANALYZE, for docs/gc.md §9.
// It is slow: EBSD_PG_EXPLAIN=1 runs it.
func TestExplain(t *testing.T) {
	if os.Getenv("EBSD_PG_EXPLAIN") == "" {
		t.Skip("EBSD_PG_EXPLAIN=1 runs it")
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{DSN: pgtest.Start(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const depth, writes = 20, 2000
	var chain []string
	var parent store.Snapshot
	for level := range depth {
		id := fmt.Sprintf("snap-%017x", level+1)
		snap := store.Snapshot{ID: id, OwnerID: "111122223333", State: store.StatePending, RootID: id}
		if level > 0 {
			snap.ParentID, snap.RootID, snap.Depth = parent.ID, parent.RootID, parent.Depth+1
		}
		if err := s.CreateSnapshot(ctx, snap, nil, 0); err != nil {
			t.Fatal(err)
		}
		// Bulk insert: the plans, not PutBlock, are under test.
		var rows [][]any
		for i := range writes {
			index := int32((i*7919 + level*104729) % (1 << 20))
			d := sha256.Sum256(fmt.Appendf(nil, "%s %d", id, index))
			rows = append(rows, []any{id, index, snap.RootID, snap.Depth, d[:], d[:], time.Now().UnixNano(), int64(level*writes + i)})
		}
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"writes"},
			[]string{"snapshot_id", "block_index", "root_id", "depth", "digest", "key", "written_at", "seq"},
			pgx.CopyFromRows(rows)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateSnapshot(ctx, id, func(r *store.Snapshot) error { r.State = store.StateCompleted; return nil }); err != nil {
			t.Fatal(err)
		}
		chain = append([]string{id}, chain...)
		parent = snap
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	head := chain[0]
	var indexes []int32
	for i := range int32(1000) {
		indexes = append(indexes, i*1000)
	}
	for _, q := range []struct {
		name, sql string
		args      []any
		before    string // a statement to run first, in the same transaction
	}{
		{"GetSnapshot", selectSnapshot + ` WHERE s.id = $1`, []any{head}, ""},
		{"OwnBlocks page", queryOwn, []any{head, int32(0), 1000}, ""},
		{"ViewBlocks first round (chain of 20, page of 1000)", queryMergeRefs, mergeArgs(chain, 1000), ""},
		{"ResolveBlocks (1000 indexes, chain of 20)", queryResolve, []any{chain[len(chain)-1], indexes, depth - 1, chain}, ""},
		{"WrittenIndexes first round (20 snapshots, page of 1000)", queryMergeIndexes, mergeArgs(chain, 1000), ""},
		{"OwnChanges first round (19 snapshots, page of 1000)", queryMergeOwn, mergeArgs(chain[:depth-1], 1000), ""},
		{"OwnChanges first round (1 snapshot, page of 1000)", queryMergeOwn, mergeArgs(chain[:1], 1000), ""},
		{"chain of the tip's parent", queryChain, []any{chain[1]}, ""},
		{"recordReplaced of the tip (2000 writes, chain of 19; rolled back)", recordReplaced, []any{head, chain[len(chain)-1], depth - 2, chain[1:]},
			`DELETE FROM replaced WHERE snapshot_id = '` + head + `'`},
		{"ListSnapshots", selectSnapshot + ` WHERE s.owner_id = $1 AND s.state <> 5 AND s.id > $2 ORDER BY s.id LIMIT $3`, []any{"111122223333", "", 100}, ""},
		{"ScanSnapshots(pending)", selectSnapshot + ` WHERE s.id > $1 AND s.state = ANY($2) ORDER BY s.id LIMIT 1000`, []any{"", []int16{1}}, ""},
	} {
		// In a transaction rolled back: EXPLAIN ANALYZE runs an INSERT.
		lines, err := explainRolledBack(ctx, s, q.before, q.sql, q.args)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		t.Logf("%s:\n%s\n", q.name, strings.Join(lines, "\n"))
	}
}

// mergeArgs are the arguments of the first round of a merge of chain from
// index 0 for a page of limit.
func mergeArgs(chain []string, limit int) []any {
	m := newChainMerge(chain, 0, limit, true)
	var pos, from, n []int32
	for i, mb := range m.members {
		pos, from, n = append(pos, int32(i)), append(from, mb.next), append(n, int32(mb.want))
	}
	return []any{chain, pos, from, n}
}

// explainRolledBack runs before (if set) and EXPLAIN ANALYZE of sql in a
// transaction that it rolls back, and returns the plan's lines.
func explainRolledBack(ctx context.Context, s *Store, before, sql string, args []any) ([]string, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if before != "" {
		if _, err := tx.Exec(ctx, before); err != nil {
			return nil, err
		}
	}
	rows, err := tx.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) `+sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
