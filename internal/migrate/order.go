package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ebsd/ebsd/internal/store"
)

// sourceSnapshots returns every record of meta, each after its parent and
// its copy source: the order in which importing them leaves, after any
// prefix, no snapshot without its ancestors. Siblings go in ID order, so
// that every run imports in the same order.
func sourceSnapshots(ctx context.Context, meta store.MetaStore) ([]store.Snapshot, error) {
	byID := make(map[string]store.Snapshot)
	if err := meta.ScanSnapshots(ctx, func(s store.Snapshot) (bool, error) {
		byID[s.ID] = s
		return true, nil
	}); err != nil {
		return nil, fmt.Errorf("migrate: scan the source's snapshots: %w", err)
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	out := make([]store.Snapshot, 0, len(byID))
	done := make(map[string]bool, len(byID))
	// Iterative depth-first: a lineage can be thousands deep.
	for _, id := range ids {
		stack := []string{id}
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if done[top] {
				stack = stack[:len(stack)-1]
				continue
			}
			s := byID[top]
			pushed := false
			for _, dep := range []string{s.ParentID, s.CopySourceID} {
				if _, ok := byID[dep]; ok && !done[dep] && !slices.Contains(stack, dep) {
					stack = append(stack, dep)
					pushed = true
				}
			}
			if pushed {
				continue
			}
			done[top] = true
			out = append(out, s)
			stack = stack[:len(stack)-1]
		}
	}
	return out, nil
}

// chainOf returns the chain of s (itself, then its ancestors nearest
// first), from the records in byID.
func chainOf(s store.Snapshot, byID map[string]store.Snapshot) ([]string, error) {
	chain := []string{s.ID}
	for p := s.ParentID; p != ""; p = byID[p].ParentID {
		if _, ok := byID[p]; !ok {
			return nil, fmt.Errorf("snapshot %s: ancestor %s is not in the source", s.ID, p)
		}
		if len(chain) > len(byID) {
			return nil, fmt.Errorf("snapshot %s: its lineage loops: %s", s.ID, strings.Join(chain[:10], " → "))
		}
		chain = append(chain, p)
	}
	return chain, nil
}
