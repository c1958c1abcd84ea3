package pgmeta

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ebsd/ebsd/internal/store"
)

// A completed snapshot with a parent records, for each of its writes
// rows, the write's mapping and the mapping it replaced: its parent's
// view at that index (table replaced, migrations/0004), and sets its
// replaced_recorded flag, in the transaction of UpdateSnapshot that makes
// it completed (issue 14). The parent's chain is completed and immutable
// before the child can start (CreateSnapshot checks it FOR SHARE), and
// stays so while the child exists (the collector purges a tombstone only
// once nothing reads through it), so what is recorded stays true.
// ListChangedBlocks then reads the common ancestor's view of an index that
// one side wrote from that side's oldest writer's row, in one merge of
// that side's replaced rows (OwnChanges), instead of a lookup in
// writes_layout per index (ResolveBlocks).
//
// The replaced table holds no block alive: the collector marks from
// writes alone (mark_view.go), and a replaced mapping names a block of
// the parent's view, which the parent (or its tombstone) keeps while the
// child exists. PurgeSnapshot deletes a snapshot's rows of both tables.
// ImportSnapshot records them too, for a completed snapshot or a
// tombstone whose whole chain was imported before it (ebsd migrate
// imports parents first); otherwise its flag stays false and its indexes
// are resolved in the common chain, as are those of a snapshot completed
// before version 4.

// queryChain is the IDs of snapshot $1 and its ancestors, nearest first,
// from the parent_id column (a primary key lookup per generation).
const queryChain = `WITH RECURSIVE c(id, parent_id, n) AS (
		SELECT id, parent_id, 0 FROM snapshots WHERE id = $1
		UNION ALL
		SELECT s.id, s.parent_id, c.n + 1 FROM snapshots s JOIN c ON s.id = c.parent_id WHERE c.parent_id <> ''
	)
	SELECT coalesce(array_agg(id ORDER BY n), '{}') FROM c`

// recordReplaced is the one statement that records snapshot $1's
// replaced rows: for each of its writes rows, the nearest writer of its
// index in the parent's chain ($4, at depth $3 and above in tree $2),
// found by the range scan of writes_layout that queryResolve does per
// index. A row whose index nobody in the chain wrote gets NULLs.
const recordReplaced = `INSERT INTO replaced (snapshot_id, block_index, digest, key, replaced_digest, replaced_key)
	SELECT w.snapshot_id, w.block_index, w.digest, w.key, r.digest, r.key FROM writes w
	LEFT JOIN LATERAL (SELECT p.digest, p.key FROM writes p
		WHERE p.root_id = $2 AND p.block_index = w.block_index AND p.depth <= $3 AND p.snapshot_id = ANY($4)
		ORDER BY p.depth DESC LIMIT 1) r ON true
	WHERE w.snapshot_id = $1`

// recordReplacedOf records the replaced mappings of snap, which becomes
// completed in tx, and sets its flag. A root has nothing below a common
// ancestor to answer for: its flag stays false. When partial, a chain
// that is not all there (an import whose parent was not imported) leaves
// the flag false; otherwise it is corrupt.
func recordReplacedOf(ctx context.Context, tx pgx.Tx, snap store.Snapshot, partial bool) error {
	if snap.ParentID == "" {
		return nil
	}
	var chain []string
	if err := tx.QueryRow(ctx, queryChain, snap.ParentID).Scan(&chain); err != nil {
		return fmt.Errorf("chain of %q: %w", snap.ParentID, err)
	}
	if len(chain) != snap.Depth {
		if partial && len(chain) < snap.Depth {
			return nil
		}
		return fmt.Errorf("snapshot %q at depth %d has %d ancestors: %w", snap.ID, snap.Depth, len(chain), store.ErrCorrupt)
	}
	if _, err := tx.Exec(ctx, recordReplaced, snap.ID, rootOf(snap), snap.Depth-1, chain); err != nil {
		return fmt.Errorf("replaced mappings of %q: %w", snap.ID, err)
	}
	_, err := tx.Exec(ctx, `UPDATE snapshots SET replaced_recorded = true WHERE id = $1`, snap.ID)
	return err
}

var _ store.OwnChangeLister = (*Store)(nil)

// OwnChanges implements store.OwnChangeLister with the merge of ViewBlocks
// (merge.go) over the own snapshots' replaced rows (their writes rows for
// those not recorded): per index, the nearest writer's mapping and the
// oldest writer's replaced one. Its cost is that of a ViewBlocks page of
// own, whatever the depth of the common chain.
func (s *Store) OwnChanges(ctx context.Context, own []string, start int32, limit int) ([]store.OwnChange, error) {
	if err := s.enter("OwnChanges"); err != nil {
		return nil, err
	}
	if limit <= 0 || len(own) == 0 {
		return nil, nil
	}
	m := newChainMerge(own, start, limit, true)
	m.own = true
	if _, err := m.run(ctx, s.pool); err != nil {
		return nil, wrapOp("OwnChanges", err)
	}
	return m.changes, nil
}
