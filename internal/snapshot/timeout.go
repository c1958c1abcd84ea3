package snapshot

import (
	"context"
	"errors"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// timedOutMessage is the StateMessage AWS gives a timed-out snapshot.
const timedOutMessage = "Snapshot timed out"

// errUnchanged aborts an UpdateSnapshot whose precondition no longer holds.
var errUnchanged = errors.New("snapshot changed concurrently")

// errWritten aborts an expiry: the snapshot was written to since it was
// read, so it is no longer idle.
var errWritten = errors.New("snapshot written to since it was read")

// idle reports whether snap has seen no write (nor, when it has none, its
// start) for its Timeout at now. The timeout is an idle timer: each
// PutSnapshotBlock restarts it (spec §7.3).
func idle(snap store.Snapshot, now time.Time) bool {
	since := snap.StartTime
	if snap.LastActivity.After(since) {
		since = snap.LastActivity
	}
	return !now.Before(since.Add(snap.Timeout))
}

// expireIfIdle moves a pending snapshot that has seen no write for its
// Timeout to the error state, as AWS does, and reports whether it did (or
// found it already gone from pending).
//
// snap may be stale: a PutBlock can land between the read of snap and
// the update. So the update decides again on the record the store gives
// it, whose LastActivity no PutBlock can change until the update is stored:
// a write that was acknowledged before the update always keeps the
// snapshot alive, and one that comes after finds it not writable.
func (s *Service) expireIfIdle(ctx context.Context, snap store.Snapshot) (bool, error) {
	now := s.now()
	// Fast path, taken by almost every write: no need for an update.
	if !idle(snap, now) {
		return false, nil
	}
	_, err := s.meta.UpdateSnapshot(ctx, snap.ID, func(rec *store.Snapshot) error {
		if rec.State != store.StatePending {
			return errUnchanged
		}
		if !idle(*rec, now) {
			return errWritten
		}
		rec.State = store.StateError
		rec.StateMessage = timedOutMessage
		rec.CompleteTime = now
		return nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		return true, nil
	case errors.Is(err, errWritten):
		return false, nil
	case err != nil:
		return false, err
	}
	s.log.InfoContext(ctx, "snapshot timed out", "snapshot", snap.ID, "timeout", snap.Timeout)
	return true, nil
}

// Run enforces timeouts and finishes interrupted completions until ctx is
// done: once at once (so that a restart catches up on what happened while
// the server was down), then every SweepInterval. Requests also enforce
// timeouts lazily, so Run's period bounds only how late an untouched
// snapshot turns to error.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.sweepEvery)
	defer t.Stop()
	// Copy jobs run on ctx: wait for them, so that the stores outlive them.
	defer s.copies.wg.Wait()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "sweep failed", "err", err)
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return nil
			case id := <-s.copies.kickc:
				s.startCopy(ctx, id)
			case <-t.C:
				waiting = false
			}
		}
	}
}

// Sweep runs one pass of Run: it expires idle pending snapshots, finishes
// snapshots left in completion by a crash, and starts the jobs of copies
// in progress that have none running (after a restart, or a failure). The
// jobs run on ctx. When the MetaStore is shared by several nodes, one
// node sweeps at a time, under a lease; the others skip their pass.
func (s *Service) Sweep(ctx context.Context) error {
	_, err := s.withLease(ctx, "sweep", func(leased context.Context) error {
		return s.sweep(leased, ctx)
	})
	return err
}

// sweep is Sweep under its lease: its own work runs on ctx, the copy jobs
// it starts on jobs, which outlives the lease.
func (s *Service) sweep(ctx, jobs context.Context) error {
	var pending, completing []store.Snapshot
	err := s.meta.ScanSnapshots(ctx, func(snap store.Snapshot) (bool, error) {
		switch snap.State {
		case store.StateCompleting:
			completing = append(completing, snap)
		case store.StateCopying:
			s.startCopy(jobs, snap.ID)
		default:
			pending = append(pending, snap)
		}
		return true, nil
	}, store.StatePending, store.StateCompleting, store.StateCopying)
	if err != nil {
		return err
	}
	var errs []error
	// A snapshot deleted and purged since the scan is no error.
	for _, snap := range pending {
		if _, err := s.expireIfIdle(ctx, snap); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	for _, snap := range completing {
		if err := s.finishCompletion(ctx, snap.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PendingSnapshots counts snapshots not yet completed or failed, for
// metrics.
func (s *Service) PendingSnapshots(ctx context.Context) (int, error) {
	n := 0
	err := s.meta.ScanSnapshots(ctx, func(store.Snapshot) (bool, error) {
		n++
		return true, nil
	}, store.StatePending, store.StateCompleting, store.StateCopying)
	return n, err
}
