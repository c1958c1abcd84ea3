package memstore

import (
	"context"
	"slices"

	"github.com/ebsd/ebsd/internal/store"
)

// ListSnapshots implements store.MetaStore. It sorts the IDs of ownerID's
// snapshots that are not deleted, kept in m.listed: its cost grows with
// those, not with other owners' snapshots or deleted ones.
func (m *Meta) ListSnapshots(_ context.Context, ownerID, after string, limit int) ([]store.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed("ListSnapshots")
	}
	if limit <= 0 {
		return nil, nil
	}
	var ids []string
	for id := range m.listed[ownerID] {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]store.Snapshot, 0, min(limit, len(ids)))
	for _, id := range firstN(ids, limit) {
		out = append(out, m.snapshots[id].snapshot())
	}
	return out, nil
}
