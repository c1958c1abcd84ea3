package memstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// PutBlock implements store.MetaStore.
func (m *Meta) PutBlock(_ context.Context, id string, index int32, ref store.BlockRef, now time.Time) error {
	e, err := m.entry("PutBlock", id)
	if err != nil {
		return err
	}
	e.writeMu.RLock()
	defer e.writeMu.RUnlock()

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("PutBlock")
	}
	if m.snapshots[id] != e {
		return errNoSnapshot("PutBlock", id) // purged while this call waited
	}
	if st := e.record.State; st != store.StatePending && st != store.StateCopying {
		return fmt.Errorf("memstore: PutBlock: snapshot %q is %s: %w", id, e.record.State, store.ErrNotWritable)
	}
	old, had := e.blocks[index]
	m.addUsage(e.record.OwnerID, usageDelta(old, had, ref))
	e.blocks[index] = ref
	e.activity = now.Round(0)
	return nil
}

// OwnBlocks implements store.MetaStore. It calls fn on a copy of the
// mappings taken when it starts, without holding any lock. A snapshot that
// does not exist has no blocks.
func (m *Meta) OwnBlocks(ctx context.Context, id string, start int32, fn func(store.IndexedRef) (bool, error)) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed("OwnBlocks")
	}
	var own []store.IndexedRef
	if e, ok := m.snapshots[id]; ok {
		for index, ref := range e.blocks {
			if index >= start {
				own = append(own, store.IndexedRef{Index: index, Ref: ref})
			}
		}
	}
	m.mu.Unlock()

	slices.SortFunc(own, func(a, b store.IndexedRef) int { return cmp.Compare(a.Index, b.Index) })
	for _, r := range own {
		if err := ctx.Err(); err != nil {
			return err
		}
		more, err := fn(r)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// WrittenIndexes implements store.MetaStore. Snapshots that do not exist
// contribute nothing.
func (m *Meta) WrittenIndexes(_ context.Context, ids []string, start int32, limit int) ([]int32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed("WrittenIndexes")
	}
	set := make(map[int32]bool)
	for _, id := range ids {
		if e, ok := m.snapshots[id]; ok {
			for index := range e.blocks {
				if index >= start {
					set[index] = true
				}
			}
		}
	}
	return firstN(slices.Sorted(maps.Keys(set)), limit), nil
}

// ViewBlocks implements store.MetaStore. It returns ErrNotFound when
// chain[0] does not exist, as the persistent backends, which need its
// record to find its lineage, do.
func (m *Meta) ViewBlocks(_ context.Context, chain []string, start int32, limit int) ([]store.IndexedRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkChain("ViewBlocks", chain); err != nil || len(chain) == 0 || limit <= 0 {
		return nil, err
	}
	view := make(map[int32]store.BlockRef)
	for _, id := range slices.Backward(chain) { // farthest first: nearer writers overwrite
		if e, ok := m.snapshots[id]; ok {
			for index, ref := range e.blocks {
				if index >= start {
					view[index] = ref
				}
			}
		}
	}
	var out []store.IndexedRef
	for _, index := range firstN(slices.Sorted(maps.Keys(view)), limit) {
		out = append(out, store.IndexedRef{Index: index, Ref: view[index]})
	}
	return out, nil
}

// ResolveBlocks implements store.MetaStore. It returns ErrNotFound when
// chain[0] does not exist, like ViewBlocks.
func (m *Meta) ResolveBlocks(_ context.Context, chain []string, indexes []int32) ([]store.BlockRef, []bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkChain("ResolveBlocks", chain); err != nil {
		return nil, nil, err
	}
	refs := make([]store.BlockRef, len(indexes))
	found := make([]bool, len(indexes))
	for i, index := range indexes {
		for _, id := range chain {
			if e, ok := m.snapshots[id]; ok {
				if ref, ok := e.blocks[index]; ok {
					refs[i], found[i] = ref, true
					break
				}
			}
		}
	}
	return refs, found, nil
}

// checkChain returns ErrClosed after Close and ErrNotFound when chain[0]
// does not exist. m.mu must be held.
func (m *Meta) checkChain(op string, chain []string) error {
	if m.closed {
		return errClosed(op)
	}
	if len(chain) > 0 {
		if _, ok := m.snapshots[chain[0]]; !ok {
			return errNoSnapshot(op, chain[0])
		}
	}
	return nil
}

// firstN returns the first n elements of s, or nil when n <= 0.
func firstN[S ~[]E, E any](s S, n int) S {
	if n <= 0 {
		return nil
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}
