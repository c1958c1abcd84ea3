package memstore

import (
	"maps"
	"slices"

	"github.com/ebsd/ebsd/internal/store"
)

// The store keeps its own copies of everything it is given and hands out
// copies of what it keeps, so that callers never alias its state. Times lose
// their monotonic clock reading, as they would through any persistent
// backend.

func cloneSnapshot(s store.Snapshot) store.Snapshot {
	s.Tags = slices.Clone(s.Tags)
	s.WrappedKey = slices.Clone(s.WrappedKey)
	s.StartTime = s.StartTime.Round(0)
	s.CompleteTime = s.CompleteTime.Round(0)
	s.DeleteTime = s.DeleteTime.Round(0)
	return s
}

func cloneIdempotency(r store.Idempotency) store.Idempotency {
	r.Response = slices.Clone(r.Response)
	return r
}

// cloneBlocks copies a snapshot's mappings; BlockRefs are values.
func cloneBlocks(b map[int32]store.BlockRef) map[int32]store.BlockRef { return maps.Clone(b) }
