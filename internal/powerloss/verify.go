package powerloss

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
)

// checked counts what one verification looked at.
type checked struct {
	snapshots map[store.State]int
	blocks    int
}

// verify checks every acknowledgement of frozen against a freshly opened
// instance:
//   - every snapshot whose start was acknowledged exists;
//   - every snapshot whose completion was acknowledged is completed;
//   - a snapshot that is neither abandoned nor completed is not in error;
//   - a completed snapshot lists and returns, through the service's read
//     path (tokens included), every acknowledged block of itself and of
//     its ancestors, with its checksum;
//   - a pending snapshot maps every acknowledged block of its own to
//     content that reads back intact from the block store.
//
// Every Put of a scenario writes its own index, so a view is unambiguous:
// what an ancestor acknowledged at an index is what the child reads there.
func verify(ctx context.Context, in *instance, frozen map[string]*snapRecord) (checked, error) {
	c := checked{snapshots: make(map[store.State]int)}
	for id, rec := range frozen {
		snap, err := in.meta.GetSnapshot(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return c, fmt.Errorf("snapshot %s: StartSnapshot was acknowledged, but the snapshot is gone", id)
		}
		if err != nil {
			return c, fmt.Errorf("snapshot %s: %w", id, err)
		}
		c.snapshots[snap.State]++
		switch {
		case rec.complete && snap.State != store.StateCompleted:
			return c, fmt.Errorf("snapshot %s: CompleteSnapshot was acknowledged, but it is %s (%q)", id, snap.State, snap.StateMessage)
		case !rec.timeout && snap.State == store.StateError:
			return c, fmt.Errorf("snapshot %s: in error (%q), though it never timed out nor failed a check", id, snap.StateMessage)
		}
		var n int
		switch snap.State {
		case store.StateCompleted:
			n, err = verifyView(ctx, in.svc, rec, frozen)
		case store.StatePending, store.StateCompleting:
			n, err = verifyOwn(ctx, in, rec)
		}
		if err != nil {
			return c, fmt.Errorf("snapshot %s (%s): %w", id, snap.State, err)
		}
		c.blocks += n
	}
	return c, nil
}

// verifyView reads rec's snapshot through the service, as a client would.
func verifyView(ctx context.Context, svc *snapshot.Service, rec *snapRecord, frozen map[string]*snapRecord) (int, error) {
	tokens := make(map[int32]string)
	max := "10000"
	var next *string
	for {
		out, err := svc.ListSnapshotBlocks(ctx, snapshot.ListBlocksInput{AccountID: rec.account,
			SnapshotID: rec.id, MaxResults: &max, NextToken: next})
		if err != nil {
			return 0, fmt.Errorf("ListSnapshotBlocks: %w", err)
		}
		for _, b := range out.Blocks {
			tokens[b.BlockIndex] = b.BlockToken
		}
		if out.NextToken == "" {
			break
		}
		next = &out.NextToken
	}
	n := 0
	for r := rec; r != nil; r = frozen[r.parent] {
		for index, want := range r.acked {
			tok, ok := tokens[index]
			if !ok {
				return n, fmt.Errorf("block %d, acknowledged in %s, is not listed", index, r.id)
			}
			out, err := svc.GetSnapshotBlock(ctx, snapshot.GetBlockInput{AccountID: rec.account,
				SnapshotID: rec.id, BlockIndex: strconv.Itoa(int(index)), BlockToken: &tok})
			if err != nil {
				return n, fmt.Errorf("GetSnapshotBlock %d (acknowledged in %s): %w", index, r.id, err)
			}
			got := ebs.Digest(sha256.Sum256(out.Data))
			sum := out.Checksum
			out.Release()
			if got != want || sum != b64(want) {
				return n, fmt.Errorf("block %d (acknowledged in %s) reads back different content", index, r.id)
			}
			n++
		}
		if r.parent == "" {
			break
		}
	}
	return n, nil
}

// verifyOwn checks a snapshot that cannot be read through the service yet
// at the stores.
func verifyOwn(ctx context.Context, in *instance, rec *snapRecord) (int, error) {
	refs := make(map[int32]store.BlockRef)
	err := in.meta.OwnBlocks(ctx, rec.id, 0, func(b store.IndexedRef) (bool, error) {
		refs[b.Index] = b.Ref
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("OwnBlocks: %w", err)
	}
	n := 0
	for index, want := range rec.acked {
		ref, ok := refs[index]
		if !ok {
			return n, fmt.Errorf("block %d was acknowledged, but is not mapped", index)
		}
		if ref.Digest != want {
			return n, fmt.Errorf("block %d is mapped to other content", index)
		}
		if want != ebs.ZeroBlockDigest {
			data, err := in.blocks.Get(ctx, ref.Key, nil)
			if err != nil {
				return n, fmt.Errorf("block %d: %w", index, err)
			}
			if ebs.Digest(sha256.Sum256(data)) != want {
				return n, fmt.Errorf("block %d reads back different content", index)
			}
		}
		n++
	}
	return n, nil
}
