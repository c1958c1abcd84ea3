package snapshot

import (
	"context"

	"github.com/ebsd/ebsd/internal/store"
)

// recordedPage is changedPage on a store that records, for each own write
// of a completed snapshot, the mapping it replaced (store.OwnChangeLister).
// An index that only one side wrote below the common ancestor reads, on
// the other side, as in the common ancestor, which is what the oldest of
// that side's writers of it replaced: so one pass over each side's own
// writes gives both mappings, with no lookup in the common chain, whose
// random seeks made a page between a parent and its child cost 13 times a
// page of ListSnapshotBlocks in a deep lineage (issue 14). Only the
// indexes whose oldest writer completed before the store recorded this
// are resolved in the common chain, as changedPage does.
func (s *Service) recordedPage(ctx context.Context, l store.OwnChangeLister, firstOwn, secondOwn, common []string, start int32, limit int) ([]changed, error) {
	a, err := ownChanges(ctx, l, firstOwn, start, limit)
	if err != nil {
		return nil, err
	}
	b, err := ownChanges(ctx, l, secondOwn, start, limit)
	if err != nil {
		return nil, err
	}
	page := make([]changed, 0, min(limit, len(a)+len(b)))
	var missing []int32     // indexes of page, ascending, to resolve in common
	var missingAt []int     // their positions in page
	var missingFirst []bool // whether the first side lacks it (else the second)
	i, j := 0, 0
	for len(page) < limit && (i < len(a) || j < len(b)) {
		var c changed
		switch {
		case j == len(b) || (i < len(a) && a[i].Index < b[j].Index):
			x := a[i]
			c = changed{index: x.Index, first: x.Ref, inFirst: true, second: x.Replaced, inSecond: x.Replaces}
			if !x.Known {
				missing, missingAt, missingFirst = append(missing, x.Index), append(missingAt, len(page)), append(missingFirst, false)
			}
			i++
		case i == len(a) || b[j].Index < a[i].Index:
			x := b[j]
			c = changed{index: x.Index, second: x.Ref, inSecond: true, first: x.Replaced, inFirst: x.Replaces}
			if !x.Known {
				missing, missingAt, missingFirst = append(missing, x.Index), append(missingAt, len(page)), append(missingFirst, true)
			}
			j++
		default:
			c = changed{index: a[i].Index, first: a[i].Ref, inFirst: true, second: b[j].Ref, inSecond: true}
			i++
			j++
		}
		page = append(page, c)
	}
	if len(missing) == 0 {
		return page, nil
	}
	refs, found, err := s.meta.ResolveBlocks(ctx, common, missing)
	if err != nil {
		return nil, err
	}
	for k, p := range missingAt {
		c := &page[p]
		if missingFirst[k] {
			c.first, c.inFirst = refs[k], found[k]
		} else {
			c.second, c.inSecond = refs[k], found[k]
		}
	}
	return page, nil
}

// ownChanges is OwnChanges of own, the snapshots of one side below the
// common ancestor (none: nothing).
func ownChanges(ctx context.Context, l store.OwnChangeLister, own []string, start int32, limit int) ([]store.OwnChange, error) {
	if len(own) == 0 {
		return nil, nil
	}
	return l.OwnChanges(ctx, own, start, limit)
}
