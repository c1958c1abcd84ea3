package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

const opComplete = "CompleteSnapshot"

// State messages AWS gives snapshots that fail completion.
const (
	checksumMismatchMessage = "Checksum mismatch for snapshot"
	countMismatchMessage    = "Changed blocks count mismatch for snapshot"
)

// CompleteSnapshot seals a pending snapshot (spec §3.3, §7.6). Like AWS it
// answers 202 "pending" and checks ChangedBlocksCount and the LINEAR
// aggregate checksum afterwards; a mismatch puts the snapshot in the error
// state. Here the check runs before the response is sent, so the snapshot
// is already completed (or failed) when the first call returns; repeated
// calls report the outcome. The request is recorded durably first, so a
// crash during the check is finished by Sweep after restart.
func (s *Service) CompleteSnapshot(ctx context.Context, in CompleteInput) (*CompleteOutput, error) {
	var f fields
	f.snapshotID("snapshotId", in.SnapshotID)
	count, _ := f.integer("changedBlocksCount", in.ChangedBlocksCount, true, 0, 1<<31-1)
	f.text("checksum", in.Checksum, false, 0, 64, checksumPattern, checksumRE)
	f.enum("checksumAlgorithm", in.ChecksumAlgorithm, checksumAlgorithm)
	f.enum("checksumAggregationMethod", in.ChecksumAggregationMethod, "LINEAR")
	if err := f.err(opComplete); err != nil {
		return nil, err
	}
	// The checksum headers come all together or not at all.
	hasSum, hasAlg, hasMethod := in.Checksum != nil, in.ChecksumAlgorithm != nil, in.ChecksumAggregationMethod != nil
	if hasSum || hasAlg || hasMethod {
		var missing string
		switch {
		case !hasSum:
			missing = "Snapshot checksum is missing."
		case !hasAlg:
			missing = "Checksum algorithm is missing."
		case !hasMethod:
			missing = "Checksum aggregation method is missing."
		}
		if missing != "" {
			return nil, ebs.E(opComplete, ebs.KindInvalid, ebs.ReasonInvalidParameterValue, "Invalid parameter combination. %s", missing)
		}
	}

	snap, err := s.visible(ctx, opComplete, in.AccountID, in.SnapshotID)
	if err != nil {
		return nil, err
	}
	if snap.CopySourceID != "" {
		// A copy was never started through EBS direct: AWS answers 404
		// (docs/ec2-api.md §5.3).
		return nil, ebs.SnapshotNotFound(opComplete, in.SnapshotID)
	}
	if snap.State == store.StatePending {
		expired, err := s.expireIfIdle(ctx, snap)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ebs.SnapshotNotFound(opComplete, in.SnapshotID) // deleted and purged meanwhile
		}
		if err != nil {
			return nil, internal(opComplete, err)
		}
		if expired {
			return &CompleteOutput{Status: ebs.StatusError}, nil
		}
	}
	if snap.State != store.StatePending {
		// Repeated calls report the current status, whatever they ask.
		return &CompleteOutput{Status: snap.State.Status()}, nil
	}

	_, err = s.meta.UpdateSnapshot(ctx, snap.ID, func(rec *store.Snapshot) error {
		if rec.State != store.StatePending {
			return errUnchanged
		}
		rec.State = store.StateCompleting
		rec.ExpectedBlocks = count
		rec.ExpectedChecksum = deref(in.Checksum)
		return nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		// A concurrent completion, timeout or delete got there first:
		// report a delete as the snapshot's absence.
		if _, err := s.visible(ctx, opComplete, in.AccountID, in.SnapshotID); err != nil {
			return nil, err
		}
	case errors.Is(err, store.ErrNotFound):
		return nil, ebs.SnapshotNotFound(opComplete, in.SnapshotID) // deleted and purged meanwhile
	case err != nil:
		return nil, internal(opComplete, err)
	default:
		if err := s.finishCompletion(ctx, snap.ID); err != nil {
			// The request is recorded: Sweep retries the check. A client
			// that went away, or a shutdown, is no server fault.
			level := slog.LevelError
			if ctx.Err() != nil {
				level = slog.LevelInfo
			}
			s.log.Log(ctx, level, "completion check failed; will retry", "snapshot", snap.ID, "err", err)
		}
	}
	return &CompleteOutput{Status: ebs.StatusPending}, nil
}

// finishCompletion checks a completing snapshot's block count and LINEAR
// aggregate against what CompleteSnapshot asked for and seals it as
// completed or error. It is idempotent.
func (s *Service) finishCompletion(ctx context.Context, id string) error {
	snap, err := s.meta.GetSnapshot(ctx, id)
	if err != nil {
		return err
	}
	if snap.State != store.StateCompleting {
		return nil
	}
	// The snapshot's own writes, ascending: the count of distinct indexes
	// and the SHA-256 over their raw digests (spec §7.6).
	var n int64
	agg := sha256.New()
	err = s.meta.OwnBlocks(ctx, id, 0, func(b store.IndexedRef) (bool, error) {
		n++
		agg.Write(b.Ref.Digest[:])
		return true, nil
	})
	if err != nil {
		return err
	}
	state, message := store.StateCompleted, ""
	switch {
	case n != snap.ExpectedBlocks:
		state, message = store.StateError, countMismatchMessage
	case snap.ExpectedChecksum != "" && snap.ExpectedChecksum != base64.StdEncoding.EncodeToString(agg.Sum(nil)):
		state, message = store.StateError, checksumMismatchMessage
	}
	var full int64
	if state == store.StateCompleted {
		if full, err = s.fullBlocks(ctx, snap); err != nil {
			return err
		}
	}
	now := s.now()
	_, err = s.meta.UpdateSnapshot(ctx, id, func(rec *store.Snapshot) error {
		if rec.State != store.StateCompleting {
			return errUnchanged
		}
		rec.State, rec.StateMessage, rec.CompleteTime = state, message, now
		rec.FullBlocks = full
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "snapshot sealed", "snapshot", id, "status", state.Status(),
		"message", message, "blocks", n, "expected_blocks", snap.ExpectedBlocks)
	return nil
}
