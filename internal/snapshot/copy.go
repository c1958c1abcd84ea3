package snapshot

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

const opCopy = "CopySnapshot"

// defaultKeyAlias names the account's default EBS key in KmsKeyId.
const defaultKeyAlias = "alias/aws/ebs"

// CopySnapshot copies one of the caller's completed snapshots in the same
// region (docs/ec2-api.md §5.3, docs/gc.md §3.7). The copy has the
// request's description and tags, none of the source's. Two kinds:
//
//   - A copy that keeps the source's data key, or can re-wrap it under
//     another KMS key, shares every stored block: it is a lineage child of
//     the source with no blocks of its own, completed at once. This is how
//     AWS relates a same-region copy to its source (ListChangedBlocks
//     between them is empty), and it costs no space.
//   - A copy of a plain snapshot made encrypted must seal every block: it
//     is a new lineage, pending (StateCopying) while a background job
//     re-seals the blocks, then completed.
//
// Either way the copy reads the same after its source is deleted.
func (s *Service) CopySnapshot(ctx context.Context, in CopyInput) (*CopyOutput, error) {
	if in.SourceSnapshotID == nil || *in.SourceSnapshotID == "" {
		return nil, missing(opCopy, "SourceSnapshotId")
	}
	if in.SourceRegion == nil || *in.SourceRegion == "" {
		return nil, missing(opCopy, "SourceRegion")
	}
	srcID := *in.SourceSnapshotID
	if err := checkEC2SnapshotID(opCopy, "sourceSnapshotId", srcID); err != nil {
		return nil, err
	}
	if *in.SourceRegion != in.Region {
		return nil, ebs.E(opCopy, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"This server serves region %s only, so it copies snapshots within %s: SourceRegion %s is not available here.", in.Region, in.Region, *in.SourceRegion)
	}
	if in.Description != nil && len([]rune(*in.Description)) > 255 {
		return nil, ebs.E(opCopy, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"The description is longer than 255 characters.")
	}
	if len(in.Tags) > ebs.MaxTags {
		return nil, ebs.E(opCopy, ebs.KindInvalid, ebs.ReasonTagLimitExceeded,
			"The maximum number of tags for a resource (%d) has been exceeded.", ebs.MaxTags)
	}
	if err := checkEC2Tags(opCopy, in.Tags); err != nil {
		return nil, err
	}
	if in.KMSKeyID != nil && (in.Encrypted == nil || !*in.Encrypted) {
		return nil, ebs.E(opCopy, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"KmsKeyId was given without Encrypted=true: a copy is encrypted with a KMS key only when Encrypted is true.")
	}

	src, err := s.visible(ctx, opCopy, in.AccountID, srcID)
	if err != nil {
		return nil, err
	}
	if src.State != store.StateCompleted {
		return nil, ebs.E(opCopy, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"Snapshot %s is %s; only a completed snapshot can be copied. Wait for it to complete (aws ec2 wait snapshot-completed) and retry.",
			srcID, src.State.Status())
	}

	now := s.now().Truncate(time.Millisecond)
	rec := store.Snapshot{
		OwnerID:      in.AccountID,
		VolumeSize:   src.VolumeSize,
		Description:  deref(in.Description),
		Tags:         in.Tags,
		StartTime:    now,
		Timeout:      ebs.DefaultTimeout * time.Minute,
		CopySourceID: src.ID,
	}
	if err := s.copyEncryption(in, src, &rec); err != nil {
		return nil, err
	}
	if rec.State == store.StateCopying {
		// A new lineage whose blocks the copy job writes.
		rec.RootID = "" // set to the ID below
		if err := s.checkCopyQuota(ctx, src); err != nil {
			return nil, err
		}
	} else {
		rec.State = store.StateCompleted
		rec.ParentID, rec.RootID, rec.Depth = src.ID, src.RootID, src.Depth+1
		rec.CompleteTime = now
		// The copy's view is the source's.
		if rec.FullBlocks = src.FullBlocks; rec.FullBlocks == 0 {
			chain, err := s.chain(ctx, src)
			if err == nil {
				rec.FullBlocks, err = s.countView(ctx, chain)
			}
			if err != nil {
				return nil, internal(opCopy, err)
			}
		}
	}

	for attempt := 0; ; attempt++ {
		if rec.ID, err = newSnapshotID(); err != nil {
			return nil, internal(opCopy, err)
		}
		if rec.ParentID == "" {
			rec.RootID = rec.ID
		}
		// The store creates the copy only if the source is still
		// completed at the commit: a concurrent delete of the source
		// either fails the copy or comes after it (docs/gc.md I4).
		err = s.meta.CreateSnapshot(ctx, rec, nil, s.maxPending)
		switch {
		case err == nil:
			s.log.InfoContext(ctx, "snapshot copied", "snapshot", rec.ID, "source", src.ID,
				"account", rec.OwnerID, "state", rec.State.String(), "encrypted", rec.Encrypted)
			if rec.State == store.StateCopying {
				s.copies.kick(rec.ID)
			}
			return &CopyOutput{SnapshotID: rec.ID, Tags: in.Tags}, nil
		case errors.Is(err, store.ErrNotFound):
			return nil, ebs.SnapshotNotFound(opCopy, srcID)
		case errors.Is(err, store.ErrLimit):
			e := ebs.E(opCopy, ebs.KindConcurrentLimit, "",
				"You have reached the limit of %d pending snapshots and copies for this account. Wait for some to complete and retry.", s.maxPending)
			e.Err = err
			return nil, e
		case errors.Is(err, store.ErrExists) && attempt < 8:
			continue // a random ID collided
		default:
			return nil, internal(opCopy, err)
		}
	}
}

// copyEncryption decides how the copy rec of src is encrypted, as AWS does
// with encryption by default off (docs/ec2-api.md §5.3): a plain source
// gives a plain copy unless Encrypted is true; an encrypted source always
// gives an encrypted copy, under KmsKeyId or else the account's default
// key. It sets rec.State to StateCopying when every block must be sealed
// anew, and leaves it zero when the copy can share the source's blocks.
func (s *Service) copyEncryption(in CopyInput, src store.Snapshot, rec *store.Snapshot) error {
	encrypt := src.Encrypted || (in.Encrypted != nil && *in.Encrypted)
	if !encrypt {
		return nil
	}
	if s.keys == nil {
		return ebs.E(opCopy, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"Encryption is not configured on this server: it has no KMS key file.")
	}
	arn, err := s.copyKey(in)
	if err != nil {
		return err
	}
	rec.Encrypted, rec.KMSKeyARN = true, arn
	switch {
	case !src.Encrypted:
		// Plain blocks must be sealed: a new data key and a copy job.
		_, wrapped, err := s.keys.NewDataKey(arn)
		if err != nil {
			return ebs.Wrap(opCopy, ebs.KindInternal, err, "generate a data key")
		}
		rec.WrappedKey, rec.State = wrapped, store.StateCopying
	case arn == src.KMSKeyARN:
		rec.WrappedKey = src.WrappedKey
	default:
		// The same data key, wrapped under the copy's key: the copy shares
		// the source's sealed blocks and needs only its own key to read
		// them (docs/gc.md §3.7, "re-wrap").
		plain, err := s.keys.Unwrap(src.KMSKeyARN, src.WrappedKey)
		if err != nil {
			return ebs.Wrap(opCopy, ebs.KindInternal, err, "unwrap the data key of %s", src.ID)
		}
		if rec.WrappedKey, err = s.keys.Wrap(arn, plain); err != nil {
			return ebs.Wrap(opCopy, ebs.KindInternal, err, "wrap a data key under %s", arn)
		}
	}
	return nil
}

// copyKey resolves the KMS key a copy is encrypted with: KmsKeyId as a key
// ARN, a key ID of the caller's account in this region, or the alias of
// the default key; absent, the account's default key.
func (s *Service) copyKey(in CopyInput) (string, error) {
	id := deref(in.KMSKeyID)
	if id == "" || id == defaultKeyAlias || id == "arn:aws:kms:"+in.Region+":"+in.AccountID+":"+defaultKeyAlias {
		arn, err := s.keys.DefaultKeyARN(in.AccountID)
		if err != nil {
			return "", ebs.Wrap(opCopy, ebs.KindInternal, err, "create the account's default KMS key")
		}
		return arn, nil
	}
	arn := id
	if !strings.HasPrefix(id, "arn:") {
		arn = "arn:aws:kms:" + in.Region + ":" + in.AccountID + ":key/" + id
	}
	if owner := keyAccount(arn); owner != "" && owner != in.AccountID {
		return "", ebs.E(opCopy, ebs.KindAccessDenied, "", "Not authorized to use key %s", id)
	}
	if keyAccount(arn) == "" || !s.keys.Has(arn) {
		return "", ebs.E(opCopy, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"The specified keyId %s is invalid: this server knows no such KMS key ('ebsd kms-key add ARN' adds one; aliases other than %s are not supported).", id, defaultKeyAlias)
	}
	return arn, nil
}
