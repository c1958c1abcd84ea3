package pebblemeta

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

// TestMergeViewMatchesReference checks mergeView, which ViewBlocks uses
// only after its layout walk proved wasteful, against memstore on a random
// tree, from every start.
func TestMergeViewMatchesReference(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ref := memstore.NewMeta()

	rng := rand.New(rand.NewPCG(7, 8))
	recs := map[string]store.Snapshot{}
	var ids []string
	for n := range 8 {
		rec := store.Snapshot{ID: fmt.Sprintf("snap-%017x", n), State: store.StatePending}
		rec.RootID = rec.ID
		if n > 0 {
			p := recs[ids[rng.IntN(n)]]
			rec.ParentID, rec.RootID, rec.Depth = p.ID, p.RootID, p.Depth+1
		}
		recs[rec.ID] = rec
		ids = append(ids, rec.ID)
		for _, ms := range []store.MetaStore{s, ref} {
			if err := ms.CreateSnapshot(ctx, rec, nil, 0); err != nil {
				t.Fatal(err)
			}
		}
		for range 40 {
			i := rng.Int32N(100)
			r := store.BlockRef{Digest: sha256.Sum256(fmt.Appendf(nil, "%d %d", n, i))}
			for _, ms := range []store.MetaStore{s, ref} {
				if err := ms.PutBlock(ctx, rec.ID, i, r, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Completed, so that later snapshots can be its children.
		for _, ms := range []store.MetaStore{s, ref} {
			if _, err := ms.UpdateSnapshot(ctx, rec.ID, func(s *store.Snapshot) error {
				s.State = store.StateCompleted
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, id := range ids {
		var chain []string
		for c := id; c != ""; c = recs[c].ParentID {
			chain = append(chain, c)
		}
		for start := int32(0); start <= 100; start++ {
			for _, limit := range []int{1, 3, 1000} {
				want, err := ref.ViewBlocks(ctx, chain, start, limit)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.mergeView(ctx, chain, start, limit)
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("mergeView(%v, %d, %d) = %v, %v; want %v", chain, start, limit, got, err, want)
				}
			}
		}
	}
}
