package snapshot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

const opStart = "StartSnapshot"

// StartSnapshot creates a pending snapshot (spec §3.1, §7.3, §7.4).
func (s *Service) StartSnapshot(ctx context.Context, in StartInput) (*SnapshotOutput, error) {
	if err := validateStart(in); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if *in.VolumeSize > ebs.MaxVolumeSize {
		return nil, ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidVolumeSize,
			"Volume size %d GiB is larger than the maximum of %d GiB.", *in.VolumeSize, ebs.MaxVolumeSize)
	}

	// A retried request replays its first response; a different request
	// with the same token is a conflict (spec §7.3).
	var idem *store.Idempotency
	if in.ClientToken != nil {
		idem = &store.Idempotency{OwnerID: in.AccountID, ClientToken: *in.ClientToken, RequestHash: requestHash(in)}
		if out, err := s.replay(ctx, *idem); out != nil || err != nil {
			return out, err
		}
	}

	now := s.now().Truncate(time.Millisecond)
	rec := store.Snapshot{
		OwnerID:     in.AccountID,
		State:       store.StatePending,
		VolumeSize:  *in.VolumeSize,
		Tags:        in.Tags,
		StartTime:   now,
		Timeout:     ebs.DefaultTimeout * time.Minute,
		Description: deref(in.Description),
	}
	if in.ClientToken != nil {
		rec.ClientToken = *in.ClientToken
	}
	if in.Timeout != nil {
		rec.Timeout = time.Duration(*in.Timeout) * time.Minute
	}
	var parent *store.Snapshot
	if in.ParentSnapshotID != nil {
		p, err := s.parent(ctx, in)
		if err != nil {
			return nil, err
		}
		parent = &p
		rec.ParentID, rec.RootID, rec.Depth = p.ID, p.RootID, p.Depth+1
	}
	if err := s.encryption(in, parent, &rec); err != nil {
		return nil, err
	}
	// An account at its quota could write no block to the snapshot.
	if err := s.checkQuota(ctx, opStart, in.AccountID, 0); err != nil {
		return nil, err
	}

	// Snapshot IDs are random: retry the vanishingly rare collision.
	for attempt := 0; ; attempt++ {
		id, err := newSnapshotID()
		if err != nil {
			return nil, internal(opStart, err)
		}
		rec.ID = id
		if rec.ParentID == "" {
			rec.RootID = id
		}
		out := output(rec)
		if idem != nil {
			idem.SnapshotID = id
			if idem.Response, err = encodeOutput(out); err != nil {
				return nil, internal(opStart, err)
			}
		}
		// The store counts the account's pending snapshots and inserts in
		// one atomic step: a count here, then an insert, would let
		// concurrent requests all pass the count.
		err = s.meta.CreateSnapshot(ctx, rec, idem, s.maxPending)
		if err == nil {
			s.log.InfoContext(ctx, "snapshot started", "snapshot", id, "account", rec.OwnerID,
				"volume_size_gib", rec.VolumeSize, "parent", rec.ParentID, "encrypted", rec.Encrypted)
			return out, nil
		}
		if errors.Is(err, store.ErrNotFound) && rec.ParentID != "" {
			// The parent was deleted since parent() read it: the store
			// creates a child only of a parent completed at the commit
			// (docs/gc.md I4).
			return nil, ebs.SnapshotNotFound(opStart, rec.ParentID)
		}
		if errors.Is(err, store.ErrLimit) {
			// The store reports ErrExists first, so this is not a retry of
			// a request that created its snapshot.
			e := ebs.E(opStart, ebs.KindConcurrentLimit, "",
				"You have reached the limit of %d pending snapshots for this account. Complete some of them (or let them time out) and retry.", s.maxPending)
			e.Err = err
			return nil, e
		}
		if !errors.Is(err, store.ErrExists) || attempt > 8 {
			return nil, internal(opStart, err)
		}
		// A concurrent request with the same token won the race.
		if idem != nil {
			if out, err := s.replay(ctx, *idem); out != nil || err != nil {
				return out, err
			}
		}
	}
}

// validateStart applies the model's constraints to StartSnapshot's members.
func validateStart(in StartInput) error {
	var f fields
	if in.VolumeSize == nil {
		f.add("volumeSize", nil, ebs.ConstraintNotNull)
	} else if *in.VolumeSize < ebs.MinVolumeSize {
		f.add("volumeSize", str(fmt.Sprint(*in.VolumeSize)), ebs.ConstraintMin(ebs.MinVolumeSize))
	}
	f.optSnapshotID("parentSnapshotId", in.ParentSnapshotID)
	for i, t := range in.Tags {
		t := t
		f.text(fmt.Sprintf("tags.%d.member.key", i+1), &t.Key, true, 1, 127, nil, nonEmptyRE)
		f.text(fmt.Sprintf("tags.%d.member.value", i+1), &t.Value, false, 0, 255, nil, anyRE)
	}
	f.text("description", in.Description, false, 1, 255, nil, nonEmptyRE)
	f.text("clientToken", in.ClientToken, false, 1, 255, clientTokenRE, clientTokenText)
	f.text("kmsKeyArn", in.KMSKeyARN, false, 1, 2048, kmsKeyARNPattern, kmsKeyARNRE)
	if in.Timeout != nil {
		t := str(fmt.Sprint(*in.Timeout))
		if *in.Timeout < ebs.MinTimeout {
			f.add("timeout", t, ebs.ConstraintMin(ebs.MinTimeout))
		} else if *in.Timeout > ebs.MaxTimeout {
			f.add("timeout", t, ebs.ConstraintMax(ebs.MaxTimeout))
		}
	}
	return f.err(opStart)
}

// validateTags applies the EC2 tag rules the model does not express.
func validateTags(tags []ebs.Tag) error {
	if len(tags) > ebs.MaxTags {
		return ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidTag,
			"The request has %d tags; a snapshot can have at most %d.", len(tags), ebs.MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidTag,
				"Tag key '%s' is invalid: keys starting with 'aws:' are reserved for AWS use.", t.Key)
		}
		if seen[t.Key] {
			return ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidTag,
				"Tag key '%s' appears more than once; tag keys must be unique.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

// parent returns the snapshot to start from, which must be completed and
// visible to the caller (spec §7.3).
func (s *Service) parent(ctx context.Context, in StartInput) (store.Snapshot, error) {
	id := *in.ParentSnapshotID
	p, err := s.visible(ctx, opStart, in.AccountID, id)
	if err != nil {
		return p, err
	}
	switch p.State {
	case store.StateCompleted:
	case store.StateError:
		return p, ebs.SnapshotNotFound(opStart, id)
	default:
		return p, ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "Source snapshot (%s) is not complete.", id)
	}
	if *in.VolumeSize < p.VolumeSize {
		return p, ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidVolumeSize,
			"Volume size %d GiB is smaller than the %d GiB of parent snapshot %s; a child snapshot must be at least as large as its parent.",
			*in.VolumeSize, p.VolumeSize, id)
	}
	return p, nil
}

// newSnapshotID returns "snap-0" followed by 16 random hex digits: 17 hex
// digits in all, like AWS's.
func newSnapshotID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "snap-0" + hex.EncodeToString(b[:]), nil
}

// output is the StartSnapshot response for rec.
func output(rec store.Snapshot) *SnapshotOutput {
	return &SnapshotOutput{
		SnapshotID:       rec.ID,
		OwnerID:          rec.OwnerID,
		Status:           rec.State.Status(),
		StartTime:        rec.StartTime,
		VolumeSize:       rec.VolumeSize,
		BlockSize:        ebs.BlockSize,
		Tags:             rec.Tags,
		ParentSnapshotID: rec.ParentID,
		KMSKeyARN:        rec.KMSKeyARN,
		Description:      rec.Description,
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
