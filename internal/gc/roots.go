package gc

import (
	"slices"

	"github.com/ebsd/ebsd/internal/store"
)

// rootSet returns the snapshots whose mappings must be kept (docs/gc.md
// §3.3): every snapshot that is readable or may become readable (pending,
// completing, completed, a copy in progress), and, closed over, every
// ancestor they read through and the source a copy in progress reads,
// tombstones included.
func rootSet(recs map[string]store.Snapshot) map[string]bool {
	roots := make(map[string]bool)
	var work []string
	add := func(id string) {
		if _, ok := recs[id]; ok && !roots[id] {
			roots[id] = true
			work = append(work, id)
		}
	}
	for id, r := range recs {
		switch r.State {
		case store.StatePending, store.StateCompleting, store.StateCompleted, store.StateCopying:
			add(id)
		}
	}
	for len(work) > 0 {
		r := recs[work[len(work)-1]]
		work = work[:len(work)-1]
		if r.ParentID != "" {
			add(r.ParentID)
		}
		if r.State == store.StateCopying && r.CopySourceID != "" {
			add(r.CopySourceID)
		}
	}
	return roots
}

// purgeList returns the snapshots to purge, given the roots: every
// tombstone that is not a root, deepest first, so that no purged record is
// the ancestor of one still there (I3); then every failed snapshot, whose
// mappings nothing reads.
func purgeList(recs map[string]store.Snapshot, roots map[string]bool) []string {
	var dead, failed []store.Snapshot
	for id, r := range recs {
		switch {
		case roots[id]:
		case r.State == store.StateDeleted:
			dead = append(dead, r)
		case r.State == store.StateError:
			failed = append(failed, r)
		}
	}
	slices.SortFunc(dead, func(a, b store.Snapshot) int { return b.Depth - a.Depth })
	out := make([]string, 0, len(dead)+len(failed))
	for _, r := range dead {
		out = append(out, r.ID)
	}
	for _, r := range failed {
		out = append(out, r.ID)
	}
	return out
}
