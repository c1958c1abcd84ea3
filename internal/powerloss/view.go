package powerloss

import (
	"fmt"
	"maps"

	"github.com/ebsd/ebsd/internal/ebs"
)

// views predicts what snapshots read from a frozen ledger: a snapshot's
// view is its own acknowledged writes over its parent's view (a child, a
// lineage copy) or its source's (a re-seal copy). Completed snapshots
// never change, so a view, once computed, is cached.
type views struct {
	frozen map[string]*snapRecord
	cache  map[string]map[int32]ebs.Digest
}

func newViews(frozen map[string]*snapRecord) *views {
	return &views{frozen: frozen, cache: make(map[string]map[int32]ebs.Digest)}
}

// of returns the view of snapshot id: index to digest. The caller must not
// modify it.
func (v *views) of(id string) (map[int32]ebs.Digest, error) {
	if m, ok := v.cache[id]; ok {
		return m, nil
	}
	r := v.frozen[id]
	if r == nil {
		return nil, fmt.Errorf("the ledger has no snapshot %s", id)
	}
	from := r.parent
	if from == "" {
		from = r.copyOf
	}
	m := make(map[int32]ebs.Digest, len(r.acked))
	if from != "" {
		base, err := v.of(from)
		if err != nil {
			return nil, fmt.Errorf("the view of %s: %w", id, err)
		}
		m = maps.Clone(base)
	}
	maps.Copy(m, r.acked)
	v.cache[id] = m
	return m, nil
}
