package gc

import (
	"cmp"
	"slices"

	"github.com/ebsd/ebsd/internal/store"
)

// accountRoots is one account's root snapshots.
type accountRoots struct {
	owner string
	roots []string
}

// byAccount groups roots by the account that owns them, in account
// order, so that the mark visits each account's keys together.
func byAccount(recs map[string]store.Snapshot, roots map[string]bool) []accountRoots {
	m := make(map[string][]string)
	for id := range roots {
		owner := recs[id].OwnerID
		m[owner] = append(m[owner], id)
	}
	out := make([]accountRoots, 0, len(m))
	for owner, ids := range m {
		slices.Sort(ids)
		out = append(out, accountRoots{owner, ids})
	}
	slices.SortFunc(out, func(a, b accountRoots) int { return cmp.Compare(a.owner, b.owner) })
	return out
}
