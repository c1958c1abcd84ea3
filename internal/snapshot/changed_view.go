package snapshot

import (
	"context"

	"github.com/ebsd/ebsd/internal/store"
)

// viewChanges is OwnChanges for a store without the capability: the own
// snapshots' view from ViewBlocks, none of it Known, so that changedPage
// resolves every one-sided index in the common chain.
type viewChanges struct{ meta store.MetaStore }

func (v viewChanges) OwnChanges(ctx context.Context, own []string, start int32, limit int) ([]store.OwnChange, error) {
	view, err := v.meta.ViewBlocks(ctx, own, start, limit)
	if err != nil {
		return nil, err
	}
	out := make([]store.OwnChange, len(view))
	for k, r := range view {
		out[k] = store.OwnChange{Index: r.Index, Ref: r.Ref}
	}
	return out, nil
}

// ownChanges is OwnChanges of own, the snapshots of one side below the
// common ancestor (none: nothing).
func ownChanges(ctx context.Context, l store.OwnChangeLister, own []string, start int32, limit int) ([]store.OwnChange, error) {
	if len(own) == 0 {
		return nil, nil
	}
	return l.OwnChanges(ctx, own, start, limit)
}
