package snapshot

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// Problem is one fault Check found.
type Problem struct {
	SnapshotID string
	Index      int32 // -1 when the problem is not of one block
	What       string
}

func (p Problem) String() string {
	if p.Index < 0 {
		return fmt.Sprintf("%s: %s", p.SnapshotID, p.What)
	}
	return fmt.Sprintf("%s block %d: %s", p.SnapshotID, p.Index, p.What)
}

// CheckReport sums up a Check.
type CheckReport struct {
	Snapshots   int   // records checked
	Blocks      int64 // mappings checked
	UniqueReads int64 // distinct stored blocks read and verified
	Problems    int
}

// Check verifies the store the way `restic check --read-data` does
// (issue #12 part 4): every snapshot that may be read has a complete
// lineage; every block mapping of it and of the ancestors it reads through
// resolves to a stored block; and, with readData, every such block reads
// back and hashes (after decryption) to the checksum it was written with.
// It calls problem for each fault and returns the totals. A stored copy
// found corrupt is reported to the block store as it is on any read, so
// the next PutSnapshotBlock of that content stores it anew.
func (s *Service) Check(ctx context.Context, readData bool, problem func(Problem)) (CheckReport, error) {
	var rep CheckReport
	report := func(p Problem) { rep.Problems++; problem(p) }
	var snaps []store.Snapshot
	err := s.meta.ScanSnapshots(ctx, func(snap store.Snapshot) (bool, error) {
		snaps = append(snaps, snap)
		return true, nil
	})
	if err != nil {
		return rep, err
	}
	rep.Snapshots = len(snaps)
	// Verified keys: a block shared by many snapshots is read once.
	verified := make(map[ebs.Digest]bool)
	buf := s.getBuf()
	defer s.putBuf(buf)
	for _, snap := range snaps {
		if snap.State == store.StateError {
			continue // unreadable for ever; its blocks are garbage
		}
		if _, err := s.chain(ctx, snap); err != nil {
			if snap.State != store.StateDeleted {
				report(Problem{SnapshotID: snap.ID, Index: -1, What: "broken lineage: " + err.Error()})
			}
			continue
		}
		if err := s.checkCipher(snap); err != nil {
			report(Problem{SnapshotID: snap.ID, Index: -1, What: err.Error()})
			continue
		}
		err = s.meta.OwnBlocks(ctx, snap.ID, 0, func(b store.IndexedRef) (bool, error) {
			rep.Blocks++
			if b.Ref.Digest == ebs.ZeroBlockDigest {
				return true, nil
			}
			if ok, seen := verified[b.Ref.Key]; seen {
				if !ok {
					report(Problem{SnapshotID: snap.ID, Index: b.Index, What: "shares the damaged block " + b.Ref.Key.String()})
				}
				return true, nil
			}
			what := s.checkBlock(ctx, snap, b.Ref, readData, (*buf)[:0])
			verified[b.Ref.Key] = what == ""
			if readData {
				rep.UniqueReads++
			}
			if what != "" {
				report(Problem{SnapshotID: snap.ID, Index: b.Index, What: what})
			}
			return true, ctx.Err()
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// checkCipher returns whether snap's data key can be unwrapped: without
// it, its blocks cannot be verified (or read by anyone).
func (s *Service) checkCipher(snap store.Snapshot) error {
	if !snap.Encrypted {
		return nil
	}
	if _, err := s.cipher(snap); err != nil {
		return fmt.Errorf("cannot unwrap its data key: %w", err)
	}
	return nil
}

// checkBlock verifies one mapped block and returns what is wrong, or "".
func (s *Service) checkBlock(ctx context.Context, snap store.Snapshot, ref store.BlockRef, readData bool, dst []byte) string {
	if !readData {
		ok, err := s.blocks.Has(ctx, ref.Key)
		switch {
		case err != nil:
			return "cannot look up its stored block: " + err.Error()
		case !ok:
			return "its stored block " + ref.Key.String() + " is missing"
		}
		return ""
	}
	data, err := s.loadBlock(ctx, snap, ref, dst)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "its stored block " + ref.Key.String() + " is missing"
	case errors.Is(err, store.ErrCorrupt):
		return "its stored block " + ref.Key.String() + " is damaged (fails its checksum); the next upload of this content stores it again"
	case err != nil:
		return "cannot read its stored block: " + err.Error()
	case ebs.Sum(data) != ref.Digest:
		return fmt.Sprintf("its stored block reads back with SHA-256 %s, not the %s it was written with", ebs.Sum(data), ref.Digest)
	}
	return ""
}
