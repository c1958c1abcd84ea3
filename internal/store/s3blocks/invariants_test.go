package s3blocks

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// testBlock is a key and its data.
type testBlock struct {
	key  ebs.Digest
	data []byte
}

func newTestBlock(t *testing.T, n int) testBlock {
	t.Helper()
	k, d := randomBlock(newRand(), n)
	return testBlock{k, d}
}

// putTogether stores blocks in one group, by concurrent writers that a
// store with a MaxDelay lets join one upload, and returns the group.
func putTogether(t *testing.T, h *harness, blocks ...testBlock) int64 {
	t.Helper()
	opts := h.opts
	opts.MaxDelay = time.Second // ample for every writer to join, even under -race on a busy machine
	s, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for _, b := range blocks {
		wg.Go(func() {
			if err := s.Put(t.Context(), b.key, b.data); err != nil {
				t.Errorf("Put: %v", err)
			}
		})
	}
	wg.Wait()
	var group int64
	for i, b := range blocks {
		loc, err := h.index.Lookup(t.Context(), b.key)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && loc.Group != group {
			t.Fatalf("setup: the blocks went to groups %d and %d, want one", group, loc.Group)
		}
		group = loc.Group
	}
	return group
}

// groupsByID returns the index's groups by id.
func groupsByID(t *testing.T, h *harness) map[int64]Group {
	t.Helper()
	gs, err := h.index.Groups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[int64]Group, len(gs))
	for _, g := range gs {
		out[g.ID] = g
	}
	return out
}

// hasObject reports whether group's object is in the bucket.
func hasObject(t *testing.T, h *harness, s *Store, group int64) bool {
	t.Helper()
	return slices.Contains(h.objectNames(t), s.groupName(group))
}

// checkStored checks what must hold after any step of any operation, a
// crash included: each of want reads back bit-exact through s; every index
// row names a sealed group whose object exists (no row ever names a group
// that is retired or deleted); and every object in the bucket has a group
// row (nothing is left that no compaction would delete).
func checkStored(t *testing.T, h *harness, s *Store, want ...testBlock) {
	t.Helper()
	for _, b := range want {
		mustGet(t, s, b.key, b.data)
	}
	groups := groupsByID(t, h)
	objects := make(map[string]bool)
	for _, name := range h.objectNames(t) {
		objects[name] = true
	}
	err := h.index.Scan(t.Context(), func(r IndexRow) error {
		g, ok := groups[r.Loc.Group]
		switch {
		case !ok:
			t.Errorf("the row of %v names group %d, which has no row", r.Key, r.Loc.Group)
		case g.State != GroupSealed:
			t.Errorf("the row of %v names group %d, which is %s", r.Key, g.ID, g.State)
		case !objects[s.groupName(g.ID)]:
			t.Errorf("the row of %v names group %d, whose object is gone", r.Key, g.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	named := make(map[string]bool)
	for id := range groups {
		named[s.groupName(id)] = true
	}
	for name := range objects {
		if !named[name] {
			t.Errorf("object %s has no group row: nothing will ever delete it", name)
		}
	}
}
