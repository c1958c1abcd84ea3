package snapshot_test

import (
	"context"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

// TestSweepFinishesInterruptedCompletion covers a crash between recording
// a CompleteSnapshot and sealing the snapshot: the next Sweep (run at
// every start) seals it, so no snapshot stays half-completed.
func TestSweepFinishesInterruptedCompletion(t *testing.T) {
	for _, tc := range []struct {
		name     string
		expected int64
		want     ebs.Status
	}{
		{"count matches", 1, ebs.StatusCompleted},
		{"count differs", 2, ebs.StatusError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta := memstore.NewMeta()
			svc, err := snapshot.New(context.Background(), snapshot.Options{Meta: meta, Blocks: memstore.NewBlocks()})
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{svc: svc}
			id := f.start(t, snapshot.StartInput{})
			f.mustPut(t, id, map[int][]byte{4: payload("a")})
			// What CompleteSnapshot records before it checks anything.
			if _, err := meta.UpdateSnapshot(context.Background(), id, func(s *store.Snapshot) error {
				s.State, s.ExpectedBlocks = store.StateCompleting, tc.expected
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			out, err := svc.CompleteSnapshot(context.Background(), snapshot.CompleteInput{AccountID: account, SnapshotID: id, ChangedBlocksCount: p("1")})
			if err != nil || out.Status != ebs.StatusPending {
				t.Fatalf("while completing: %v, %v; want pending", out, err)
			}
			if err := svc.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := f.complete(t, id, 1, ""); got != tc.want {
				t.Fatalf("status after sweep = %s, want %s", got, tc.want)
			}
		})
	}
}
