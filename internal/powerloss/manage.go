package powerloss

import (
	"context"
	"fmt"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
)

// delete deletes a snapshot of the worker's account: mostly a completed
// one (a copy, a parent of live children, a copy's source), sometimes an
// upload in progress (perhaps another worker's, whose writes then race
// the delete) or a re-seal copy in progress.
func (w *workload) delete(ctx context.Context) error {
	kind := victimCompleted
	switch n := w.rng.IntN(100); {
	case n < 20:
		kind = victimPending
	case n < 30:
		kind = victimCopying
	}
	id := w.ledger.pickVictim(w.rng, w.account, kind)
	if id == "" {
		return nil
	}
	return w.deleteMarked(ctx, id)
}

// deleteOwn deletes the worker's own upload before completing it, unless
// another worker is deleting it already.
func (w *workload) deleteOwn(ctx context.Context, id string) error {
	if !w.ledger.markDeleting(id) {
		return nil
	}
	return w.deleteMarked(ctx, id)
}

// deleteMarked deletes id, which the ledger marks deleting.
func (w *workload) deleteMarked(ctx context.Context, id string) error {
	if err := w.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: w.account, SnapshotID: &id}); err != nil {
		return fmt.Errorf("DeleteSnapshot %s: %w", id, err)
	}
	w.ledger.deleted(id)
	w.tally.add(func(r *Report) { r.Deletes++ })
	w.gc.kick()
	return nil
}

// copy copies a readable snapshot of the worker's account: a plain copy
// of a plain snapshot and any copy of an encrypted one are lineage copies
// that share the source's blocks (a re-wrap when the key differs); an
// encrypted copy of a plain snapshot is a re-seal copy, whose blocks the
// service's copy job writes.
func (w *workload) copy(ctx context.Context) error {
	src, srcEncrypted := w.ledger.pickLarge(w.rng, w.account)
	if src == "" {
		return nil
	}
	reg := region
	in := snapshot.CopyInput{AccountID: w.account, Region: region, SourceRegion: &reg, SourceSnapshotID: &src}
	encrypt, otherKey := false, false
	switch n := w.rng.IntN(100); {
	case n < 45:
	case n < 80:
		encrypt = true
	default:
		encrypt, otherKey = true, true
	}
	if encrypt {
		in.Encrypted = &encrypt
	}
	if otherKey {
		key := otherKeyARN(w.account)
		in.KMSKeyID = &key
	}
	at := w.clk.now()
	out, err := w.svc.CopySnapshot(ctx, in)
	if err != nil {
		if isNotFound(err) && w.ledger.isDeleting(src) {
			return nil // the source was deleted meanwhile
		}
		return fmt.Errorf("CopySnapshot %s: %w", src, err)
	}
	rec := &snapRecord{id: out.SnapshotID, account: w.account, encrypted: srcEncrypted || encrypt,
		timeout: ebs.DefaultTimeout * time.Minute, lastAck: at}
	if encrypt && !srcEncrypted {
		rec.copyOf, rec.copying = src, true
		w.tally.add(func(r *Report) { r.ResealCopies++ })
	} else {
		rec.parent, rec.complete = src, true
		w.tally.add(func(r *Report) { r.LineageCopies++ })
	}
	w.ledger.started(rec)
	if w.rng.IntN(3) == 0 && w.ledger.markDeleting(src) {
		// The source deleted at once: a re-seal copy's job is then still
		// reading it, so a collection must keep what it reads.
		return w.deleteMarked(ctx, src)
	}
	return nil
}

// refreshCopies looks at the worker's re-seal copies in progress, as a
// client polls DescribeSnapshots, and records those it sees completed: a
// completion seen is as good as acknowledged.
func (w *workload) refreshCopies(ctx context.Context) error {
	for _, id := range w.ledger.copying(w.account) {
		snap, err := w.meta.GetSnapshot(ctx, id)
		if err != nil {
			return fmt.Errorf("copy %s: %w", id, err)
		}
		switch snap.State {
		case store.StateCompleted:
			w.ledger.completed(id)
		case store.StateError:
			return fmt.Errorf("copy %s failed: %s", id, snap.StateMessage)
		}
	}
	return nil
}

// read reads one readable snapshot of the worker's account back through
// the service, while uploads, deletes and collections go on.
func (w *workload) read(ctx context.Context) error {
	ids, frozen := w.ledger.readables(w.rng, w.account)
	n, err := verifyViews(ctx, w.svc, w.ledger, ids, frozen, w.tokens, w.clk)
	w.tally.add(func(r *Report) { r.BlocksChecked += n })
	if err != nil {
		return fmt.Errorf("reading while the load runs: %w", err)
	}
	return nil
}
