package powerloss

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
)

// timedOutMessage is the StateMessage of a snapshot that timed out.
const timedOutMessage = "Snapshot timed out"

// copyWait bounds how long verify waits for the copy jobs to finish.
const copyWait = 20 * time.Second

// checked counts what one verification looked at.
type checked struct {
	snapshots map[store.State]int
	blocks    int
}

// verify checks every acknowledgement of frozen against an instance with
// no load running (after a boot, after a collection):
//   - every snapshot whose start or copy was acknowledged exists, unless
//     its deletion was asked for; one whose deletion was acknowledged is
//     gone: 404 to ListSnapshotBlocks, ListChangedBlocks and
//     GetSnapshotBlock with a token listed before;
//   - a snapshot whose completion was acknowledged (or seen, for a copy)
//     is completed; one in error could have timed out;
//   - a completed snapshot, a copy included once its job is done, lists
//     exactly the blocks the model predicts and returns each with its
//     checksum through the service's read path, tokens included;
//   - a pending snapshot maps every acknowledged block of its own, and at
//     most the write in flight besides, to content that reads back;
//   - svc.Check, reading every stored block, finds no problem.
func verify(ctx context.Context, in *instance, frozen map[string]*snapRecord, clk *clock, tokens *tokenBook) (checked, error) {
	c := checked{snapshots: make(map[store.State]int)}
	if err := waitCopies(ctx, in); err != nil {
		return c, err
	}
	v := newViews(frozen)
	for _, id := range slices.Sorted(maps.Keys(frozen)) {
		n, err := verifyOne(ctx, in, v, frozen[id], clk, tokens, &c)
		c.blocks += n
		if err != nil {
			return c, fmt.Errorf("snapshot %s: %w", id, err)
		}
	}
	return c, check(ctx, in)
}

func verifyOne(ctx context.Context, in *instance, v *views, rec *snapRecord, clk *clock, tokens *tokenBook, c *checked) (int, error) {
	snap, err := in.meta.GetSnapshot(ctx, rec.id)
	gone := errors.Is(err, store.ErrNotFound) || (err == nil && snap.State == store.StateDeleted)
	switch {
	case err != nil && !gone:
		return 0, err
	case gone && !rec.deleting:
		return 0, fmt.Errorf("its start (or copy) was acknowledged and it was never deleted, but it is gone")
	case gone:
		c.snapshots[store.StateDeleted]++
		return 0, verifyDeleted(ctx, in.svc, rec, tokens)
	case rec.deleted:
		return 0, fmt.Errorf("DeleteSnapshot was acknowledged, but it is %s", snap.State)
	case snap.Encrypted != rec.encrypted:
		return 0, fmt.Errorf("encrypted is %v, want %v", snap.Encrypted, rec.encrypted)
	}
	c.snapshots[snap.State]++
	switch snap.State {
	case store.StateCompleted:
		return verifyView(ctx, in.svc, v, rec, tokens, clk)
	case store.StatePending, store.StateCompleting:
		if rec.complete {
			return 0, fmt.Errorf("CompleteSnapshot was acknowledged, but it is %s", snap.State)
		}
		return verifyOwn(ctx, in, rec)
	case store.StateError:
		// Only a timeout is legitimate, and only once the service's clock
		// has passed the timeout since the last acknowledged activity.
		if rec.complete || rec.copyOf != "" || snap.StateMessage != timedOutMessage ||
			clk.now().Before(rec.lastAck.Add(rec.timeout)) {
			return 0, fmt.Errorf("in error (%q), though it was acknowledged completed or could not have timed out", snap.StateMessage)
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("state %s after its copy job had %v to finish", snap.State, copyWait)
	}
}

// waitCopies waits until no re-seal copy is in progress: the service's
// Run resumes their jobs after a boot.
func waitCopies(ctx context.Context, in *instance) error {
	for deadline := time.Now().Add(copyWait); ; {
		var copying []string
		err := in.meta.ScanSnapshots(ctx, func(s store.Snapshot) (bool, error) {
			copying = append(copying, s.ID)
			return true, nil
		}, store.StateCopying)
		if err != nil || len(copying) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("copies %v still in progress after %v", copying, copyWait)
		}
		time.Sleep(time.Millisecond)
	}
}

// check runs the service's own check, reading every stored block, and
// fails on any problem it reports.
func check(ctx context.Context, in *instance) error {
	var problems []string
	_, err := in.svc.Check(ctx, true, func(p snapshot.Problem) { problems = append(problems, p.String()) })
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("check found %d problems: %s", len(problems), strings.Join(problems[:min(5, len(problems))], "; "))
	}
	return nil
}

// verifyDeleted checks that a deleted snapshot is gone from every EBS
// direct call.
func verifyDeleted(ctx context.Context, svc *snapshot.Service, rec *snapRecord, tokens *tokenBook) error {
	var errs []error
	_, err := svc.ListSnapshotBlocks(ctx, snapshot.ListBlocksInput{AccountID: rec.account, SnapshotID: rec.id})
	errs = append(errs, want404("ListSnapshotBlocks", err))
	_, err = svc.ListChangedBlocks(ctx, snapshot.ListChangedInput{AccountID: rec.account, FirstSnapshotID: &rec.id, SecondSnapshotID: rec.id})
	errs = append(errs, want404("ListChangedBlocks", err))
	if index, tok, ok := tokens.any(rec.id); ok {
		out, err := svc.GetSnapshotBlock(ctx, snapshot.GetBlockInput{AccountID: rec.account,
			SnapshotID: rec.id, BlockIndex: strconv.Itoa(int(index)), BlockToken: &tok})
		if err == nil {
			out.Release()
		}
		errs = append(errs, want404("GetSnapshotBlock with a token listed before the delete", err))
	}
	return errors.Join(errs...)
}

func want404(op string, err error) error {
	if isNotFound(err) {
		return nil
	}
	return fmt.Errorf("deleted, but %s answers %v, not 404", op, err)
}

// verifyViews reads the snapshots ids back through the service while the
// load runs: a snapshot may be deleted meanwhile, so a 404 is forgiven
// when the ledger says it is being deleted.
func verifyViews(ctx context.Context, svc *snapshot.Service, led *ledger, ids []string, frozen map[string]*snapRecord, tokens *tokenBook, clk *clock) (int, error) {
	v := newViews(frozen)
	n := 0
	for _, id := range ids {
		m, err := verifyView(ctx, svc, v, frozen[id], tokens, clk)
		n += m
		if err != nil && !(isNotFound(err) && led.isDeleting(id)) {
			return n, fmt.Errorf("snapshot %s: %w", id, err)
		}
	}
	return n, nil
}

// verifyAllDeleted checks that every snapshot whose deletion frozen holds
// acknowledged answers 404.
func verifyAllDeleted(ctx context.Context, svc *snapshot.Service, frozen map[string]*snapRecord, tokens *tokenBook) error {
	for _, id := range slices.Sorted(maps.Keys(frozen)) {
		if rec := frozen[id]; rec.deleted {
			if err := verifyDeleted(ctx, svc, rec, tokens); err != nil {
				return fmt.Errorf("snapshot %s: %w", id, err)
			}
		}
	}
	return nil
}

// verifyView reads rec's snapshot through the service, as a client would:
// it must list exactly the blocks of its predicted view, and each must
// read back with its checksum. It reuses the tokens listed by earlier
// reads.
func verifyView(ctx context.Context, svc *snapshot.Service, v *views, rec *snapRecord, tokens *tokenBook, clk *clock) (int, error) {
	want, err := v.of(rec.id)
	if err != nil {
		return 0, err
	}
	listed := make(map[int32]string)
	max := "10000"
	var next *string
	for {
		out, err := svc.ListSnapshotBlocks(ctx, snapshot.ListBlocksInput{AccountID: rec.account,
			SnapshotID: rec.id, MaxResults: &max, NextToken: next})
		if err != nil {
			return 0, fmt.Errorf("ListSnapshotBlocks: %w", err)
		}
		for _, b := range out.Blocks {
			listed[b.BlockIndex] = b.BlockToken
		}
		if out.NextToken == "" {
			break
		}
		next = &out.NextToken
	}
	for index := range listed {
		if _, ok := want[index]; !ok {
			return 0, fmt.Errorf("lists block %d, which no acknowledged write of it or its ancestors made", index)
		}
	}
	n := 0
	now := clk.now()
	for _, index := range slices.Sorted(maps.Keys(want)) {
		fresh, ok := listed[index]
		if !ok {
			return n, fmt.Errorf("block %d, acknowledged in its view, is not listed", index)
		}
		tok := tokens.use(rec.id, index, fresh, now)
		out, err := svc.GetSnapshotBlock(ctx, snapshot.GetBlockInput{AccountID: rec.account,
			SnapshotID: rec.id, BlockIndex: strconv.Itoa(int(index)), BlockToken: &tok})
		if err != nil {
			return n, fmt.Errorf("GetSnapshotBlock %d: %w", index, err)
		}
		got := ebs.Digest(sha256.Sum256(out.Data))
		sum := out.Checksum
		out.Release()
		if got != want[index] || sum != b64(want[index]) {
			return n, fmt.Errorf("block %d reads back different content", index)
		}
		n++
	}
	return n, nil
}

// verifyOwn checks a snapshot that cannot be read through the service yet
// at the stores: each acknowledged write is mapped (or, at the index of
// the write in flight, perhaps that write instead), nothing else is, and
// a plain block reads back intact (an encrypted one is Check's to read).
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
	for index, ref := range refs {
		acked, wasAcked := rec.acked[index]
		maybe := rec.inflight != nil && rec.inflight.index == index && rec.inflight.digest == ref.Digest
		switch {
		case !wasAcked && !maybe:
			return n, fmt.Errorf("block %d is mapped, but no write of it was acknowledged or in flight", index)
		case ref.Digest != acked && !maybe:
			return n, fmt.Errorf("block %d is mapped to other content than acknowledged", index)
		}
		if ref.Digest != ebs.ZeroBlockDigest {
			if err := readStored(ctx, in, rec, ref); err != nil {
				return n, fmt.Errorf("block %d: %w", index, err)
			}
		}
		n++
	}
	for index := range rec.acked {
		if _, ok := refs[index]; !ok {
			return n, fmt.Errorf("block %d was acknowledged, but is not mapped", index)
		}
	}
	return n, nil
}

// readStored checks that the stored block of ref is there, and for a
// plain snapshot that it hashes to its digest.
func readStored(ctx context.Context, in *instance, rec *snapRecord, ref store.BlockRef) error {
	if rec.encrypted {
		ok, err := in.blocks.Has(ctx, ref.Key)
		if err == nil && !ok {
			err = store.ErrNotFound
		}
		return err
	}
	data, err := in.blocks.Get(ctx, ref.Key, nil)
	if err != nil {
		return err
	}
	if ebs.Digest(sha256.Sum256(data)) != ref.Digest {
		return fmt.Errorf("reads back different content")
	}
	return nil
}
