package gc

import (
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/store"
)

func TestRootSetAndPurgeList(t *testing.T) {
	rec := func(id string, st store.State, parent string, depth int) store.Snapshot {
		return store.Snapshot{ID: id, State: st, ParentID: parent, Depth: depth}
	}
	recs := map[string]store.Snapshot{}
	for _, r := range []store.Snapshot{
		// A deleted grandparent and parent under a live child: all roots.
		rec("g", store.StateDeleted, "", 0),
		rec("p", store.StateDeleted, "g", 1),
		rec("c", store.StateCompleted, "p", 2),
		// A deleted chain with no live descendant: purged, deepest first.
		rec("x", store.StateDeleted, "", 0),
		rec("y", store.StateDeleted, "x", 1),
		rec("z", store.StateError, "y", 2),
		// A copy in progress pins its deleted source.
		rec("src", store.StateDeleted, "", 0),
		{ID: "cp", State: store.StateCopying, CopySourceID: "src"},
		// Pending and completing snapshots are roots.
		rec("pend", store.StatePending, "", 0),
		rec("comp", store.StateCompleting, "", 0),
		// A failed snapshot of a live parent: the parent stays, the failed one is purged.
		rec("live", store.StateCompleted, "", 0),
		rec("fail", store.StateError, "live", 1),
	} {
		recs[r.ID] = r
	}
	roots := rootSet(recs)
	var got []string
	for id := range roots {
		got = append(got, id)
	}
	slices.Sort(got)
	want := []string{"c", "comp", "cp", "g", "live", "p", "pend", "src"}
	if !slices.Equal(got, want) {
		t.Fatalf("roots = %v, want %v", got, want)
	}
	purge := purgeList(recs, roots)
	if len(purge) != 4 || purge[0] != "y" || purge[1] != "x" {
		t.Fatalf("purge = %v, want y, x (deepest tombstone first), then the failed z and fail", purge)
	}
	if rest := slices.Sorted(slices.Values(purge[2:])); !slices.Equal(rest, []string{"fail", "z"}) {
		t.Fatalf("purge = %v", purge)
	}
}
