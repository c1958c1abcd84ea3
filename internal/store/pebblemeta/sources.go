package pebblemeta

import (
	"fmt"
	"slices"

	"github.com/ebsd/ebsd/internal/store"
)

// sourcesOf returns the snapshots that snap is created from and that must
// be StateCompleted when it is (docs/gc.md I4): its parent and the source
// of a copy, each once.
func sourcesOf(snap store.Snapshot) []string {
	var ids []string
	if snap.ParentID != "" {
		ids = append(ids, snap.ParentID)
	}
	if snap.CopySourceID != "" && snap.CopySourceID != snap.ParentID {
		ids = append(ids, snap.CopySourceID)
	}
	return ids
}

// lockSources read-locks the stripes of ids, so that no UpdateSnapshot of
// them can commit until the returned function unlocks them. Two IDs may
// share a stripe, which is then locked once (a second RLock of a stripe
// whose writer waits would deadlock), and stripes are locked in ascending
// order, so that two creates cannot each hold the stripe the other waits
// for while an UpdateSnapshot waits on both.
func (s *Store) lockSources(ids []string) (unlock func()) {
	var idx []int
	for _, id := range ids {
		idx = append(idx, s.stripes.index(id))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		s.stripes.locks[i].RLock()
	}
	return func() {
		for _, i := range slices.Backward(idx) {
			s.stripes.locks[i].RUnlock()
		}
	}
}

// checkSources returns ErrNotFound unless every snapshot of ids exists and
// is StateCompleted. The caller holds their stripes (lockSources), so the
// answer holds until it unlocks them.
func (s *Store) checkSources(ids []string) error {
	for _, id := range ids {
		src, err := s.getSnapshot(id)
		if err != nil {
			return err
		}
		if src.State != store.StateCompleted {
			return fmt.Errorf("snapshot %q is %s: %w", id, src.State, store.ErrNotFound)
		}
	}
	return nil
}
