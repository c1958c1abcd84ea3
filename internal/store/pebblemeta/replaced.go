package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// The R keys record, for a completed snapshot, each of its own writes with
// the mapping it replaced: its parent's view at that index (issue 14). The
// parent, and so its whole chain, is completed and immutable before the
// child can start (CreateSnapshot checks it), and stays so while the child
// exists (the collector purges a tombstone only once nothing reads through
// it), so what UpdateSnapshot records when the snapshot becomes completed
// stays true. ListChangedBlocks then reads the common ancestor's view of
// an index that one side wrote from that side's oldest writer's R entry,
// in one merge of the side's R entries, instead of seeking in the lineage
// tree for each index.
//
//	R len id          marker: replacedVersion; the R entries are complete
//	R len id index    the W key's BlockRef and the replaced one (replaced_value.go)
//
// ImportSnapshot records them too, after the snapshot's own batch
// (import.go). A root (never below a common ancestor), and a snapshot
// completed before the R keys existed (or by a store opened with
// SkipReplaced, or imported before its parent) have no marker, and their
// indexes are resolved in the common chain as before; entries without a
// marker (a completion that failed part-way) are never read. Neither kind of key makes the collector
// keep a block: it marks from the W keys alone, and the replaced mapping
// names a block of the parent's view, which the parent (or its tombstone)
// keeps while the child exists. (Should the collector ever prune a
// tombstone's shadowed W entries, docs/gc.md §3.3, an R entry naming one
// would go stale, but unread: it is read only for a common ancestor whose
// view, and so a live side's, still holds that mapping, which a shadowed
// entry is in no live view.)

// replacedVersion is the version of the R keys' format, the marker's
// value. A marker of any other value reads as no marker, so a later
// format is never misread, only not used.
const replacedVersion = 1

// replacedChunk bounds the own writes whose replaced mappings one pass
// resolves and one batch holds, so that completing a large snapshot does
// not hold its whole set in memory.
const replacedChunk = 4096

// replacedPrefix is the prefix of the R keys of snapshot id, and the key
// of its marker.
func replacedPrefix(id string) []byte { return appendString([]byte{spaceReplaced}, id) }

// recordReplaced writes the R keys of snap, which is becoming completed:
// its entries in batches of their own, committed without a sync, and its
// marker in final, the synced batch that stores the completed record,
// which makes the earlier ones durable too (the log is written in order).
// A crash or a failed commit before final leaves entries without a marker,
// which nothing reads and the next attempt, or PurgeSnapshot, removes.
// The caller holds snap's stripe lock, so no PutBlock adds a W key
// meanwhile.
func (s *Store) recordReplaced(ctx context.Context, snap store.Snapshot, final *pebble.Batch) error {
	if snap.ParentID == "" {
		// A lineage's root is never below a common ancestor: nothing
		// reads what its writes replaced (nothing). No marker, so that
		// OwnChanges, asked anyway, reads its W keys.
		return nil
	}
	prefix := replacedPrefix(snap.ID)
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	if found, err := s.anyWithPrefix(ctx, prefix); err != nil {
		return err
	} else if found {
		_ = b.DeleteRange(prefix, prefixEnd(prefix), nil) // an earlier attempt's
	}
	parent, chain, err := s.chainOf(snap.ParentID)
	if err != nil {
		return err
	}
	own := make([]store.IndexedRef, 0, replacedChunk)
	indexes := make([]int32, 0, replacedChunk)
	refs := make([]store.BlockRef, replacedChunk)
	found := make([]bool, replacedChunk)
	flush := func() error {
		clear(found)
		if err := s.resolve(ctx, parent, chain, indexes, refs, found); err != nil {
			return err
		}
		for k, w := range own {
			v := encodeReplaced(w.Ref, refs[k], found[k])
			_ = b.Set(appendIndex(append([]byte(nil), prefix...), w.Index), v, nil)
		}
		own, indexes = own[:0], indexes[:0]
		if b.Count() < replacedChunk {
			return nil
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			return err
		}
		_ = b.Close()
		b = s.db.NewBatch()
		return nil
	}
	err = ownBlocks(ctx, s.db, snap.ID, math.MinInt32, func(r store.IndexedRef) (bool, error) {
		own, indexes = append(own, r), append(indexes, r.Index)
		if len(own) < replacedChunk {
			return true, nil
		}
		return true, flush()
	})
	if err == nil && len(own) > 0 {
		err = flush()
	}
	if err != nil {
		return err
	}
	if err := final.Apply(b, nil); err != nil {
		return err
	}
	_ = final.Set(prefix, []byte{replacedVersion}, nil)
	return nil
}

// chainOf returns the record of snapshot id and its chain: id and its
// ancestors, nearest first, from the records' ParentID.
func (s *Store) chainOf(id string) (store.Snapshot, []string, error) {
	head, err := s.getSnapshot(id)
	if err != nil {
		return store.Snapshot{}, nil, err
	}
	chain := make([]string, 0, head.Depth+1)
	chain = append(chain, head.ID)
	for cur := head; cur.ParentID != ""; {
		if len(chain) > head.Depth {
			return store.Snapshot{}, nil, fmt.Errorf("snapshot %q: chain longer than its depth %d: %w", id, head.Depth, store.ErrCorrupt)
		}
		if cur, err = s.getSnapshot(cur.ParentID); err != nil {
			return store.Snapshot{}, nil, err
		}
		chain = append(chain, cur.ID)
	}
	return head, chain, nil
}

// anyWithPrefix reports whether a key starts with prefix.
func (s *Store) anyWithPrefix(ctx context.Context, prefix []byte) (found bool, err error) {
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	return it.First(), nil
}

// hasReplaced reports whether snapshot id has a marker of this version:
// whether its R entries are complete. A marker, once written with the
// completed record, stays until the snapshot is purged, so the answer yes
// is remembered (marked), which spares a side of a hundred snapshots a
// hundred lookups per page.
func (s *Store) hasReplaced(id string) (bool, error) {
	if s.marked.has(id) {
		return true, nil
	}
	v, err := s.get(replacedPrefix(id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	ok := len(v) == 1 && v[0] == replacedVersion
	if ok {
		s.marked.add(id)
	}
	return ok, nil
}

// markedSet is a set of snapshot IDs, emptied when it reaches
// markedMax so that its memory stays bounded (about 100 bytes an ID).
type markedSet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

const markedMax = 1 << 16

func (m *markedSet) has(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ids[id]
	return ok
}

func (m *markedSet) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ids, id)
}

func (m *markedSet) add(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil || len(m.ids) >= markedMax {
		m.ids = make(map[string]struct{})
	}
	m.ids[id] = struct{}{}
}

var _ store.OwnChangeLister = (*Store)(nil)

// OwnChanges implements store.OwnChangeLister: a k-way merge of the R
// entries of own, or the W keys of those that have none, gives at each
// index the nearest writer's entry first and the oldest writer's last:
// the mapping of the one, and what the other replaced. It costs the
// entries of own in range and an iterator per snapshot, and no lookup in
// the lineage tree.
func (s *Store) OwnChanges(ctx context.Context, own []string, start int32, limit int) ([]store.OwnChange, error) {
	if err := s.enter("OwnChanges"); err != nil {
		return nil, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 || len(own) == 0 {
		return nil, nil
	}
	out, err := s.ownChanges(ctx, own, start, limit)
	if err != nil {
		return nil, wrapOp("OwnChanges", err)
	}
	return out, nil
}

func (s *Store) ownChanges(ctx context.Context, own []string, start int32, limit int) (out []store.OwnChange, err error) {
	prefixes := make([][]byte, len(own))
	recorded := make([]bool, len(own))
	for pos, id := range own {
		if recorded[pos], err = s.hasReplaced(id); err != nil {
			return nil, err
		}
		if recorded[pos] {
			prefixes[pos] = replacedPrefix(id)
		} else {
			prefixes[pos] = writePrefix(id)
		}
	}
	m, err := openMergeOf(ctx, s.db, prefixes, start)
	if err != nil {
		return nil, err
	}
	out = make([]store.OwnChange, 0, min(limit, 1<<14))
	defer func() {
		if cerr := m.close(); err == nil {
			err = cerr
		}
	}()
	for c := m.head(); c != nil && len(out) < limit; c = m.head() {
		if len(out)%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		// The nearest writer's entry gives the mapping; the oldest's, the
		// last at this index, what was replaced.
		ch := store.OwnChange{Index: c.index}
		for first := true; c != nil && c.index == ch.Index; c, first = m.head(), false {
			v, err := c.value()
			if err != nil {
				return nil, err
			}
			oldest := !m.more(ch.Index)
			switch {
			case !recorded[c.pos]:
				if first {
					ch.Ref, err = decodeRef(v)
				}
			case first || oldest:
				// Decoded before the cursor moves on, which ends v.
				var mine, replaced store.BlockRef
				var replaces bool
				mine, replaced, replaces, err = decodeReplaced(v, oldest)
				if first {
					ch.Ref = mine
				}
				if oldest {
					ch.Replaced, ch.Replaces, ch.Known = replaced, replaces, true
				}
			}
			if err != nil {
				return nil, fmt.Errorf("snapshot %q index %d: %w", own[c.pos], ch.Index, err)
			}
			if err := m.advance(); err != nil {
				return nil, err
			}
		}
		out = append(out, ch)
	}
	return out, nil
}
