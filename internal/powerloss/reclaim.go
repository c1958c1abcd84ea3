package powerloss

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
)

// reclaim ends a scenario by checking that the space comes back: it
// deletes every snapshot left, of every state, acknowledged or not;
// restarts, so that no copy job or write is left running; collects twice;
// and then no block may be left in the index, no record in the metadata,
// and Check must find nothing wrong. It closes in.
func (h *harness) reclaim(ctx context.Context, in *instance, sc *scene) error {
	var left []store.Snapshot
	err := in.meta.ScanSnapshots(ctx, func(s store.Snapshot) (bool, error) {
		if s.State != store.StateDeleted {
			left = append(left, s)
		}
		return true, nil
	})
	for _, s := range left {
		if err != nil {
			break
		}
		err = in.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: s.OwnerID, SnapshotID: &s.ID})
	}
	if err = errors.Join(err, in.close()); err != nil {
		return err
	}
	in, err = open(ctx, sc.fs, sc.clk, h.keys)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer in.close()
	rng := h.newRand()
	for range 2 {
		if _, err := h.collect(ctx, in, rng, 0); err != nil {
			return fmt.Errorf("collection: %w", err)
		}
	}
	var records []string
	err = in.meta.ScanSnapshots(ctx, func(s store.Snapshot) (bool, error) {
		records = append(records, s.ID+" ("+s.State.String()+")")
		return true, nil
	})
	if err != nil {
		return err
	}
	if len(records) > 0 {
		return fmt.Errorf("after two collections, %d snapshot records are left: %v", len(records), records[:min(5, len(records))])
	}
	stats := in.blocks.Stats()
	if stats.Blocks != 0 {
		return fmt.Errorf("after two collections, %d blocks are left in the index (%d packs, %d bytes)", stats.Blocks, stats.Packs, stats.Bytes)
	}
	if err := check(ctx, in); err != nil {
		return err
	}
	h.t.add(func(r *Report) {
		r.Reclaims++
		r.LeftBytes = max(r.LeftBytes, stats.Bytes)
	})
	return nil
}
