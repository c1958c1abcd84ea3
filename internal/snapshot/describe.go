package snapshot

import (
	"context"
	"slices"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/token"
)

const opDescribe = "DescribeSnapshots"

// ec2VolumeID is the VolumeId AWS shows for snapshots made through EBS
// direct and for their copies.
const ec2VolumeID = "vol-ffffffff"

// describeScanBatch is how many records one store call returns while a
// page is filled.
const describeScanBatch = 256

// DescribeSnapshots lists the caller's snapshots (docs/ec2-api.md §5.1):
// the ones named, or every one Match selects, a page at a time in
// ascending ID order. Deleted snapshots are never listed, and naming one
// is InvalidSnapshot.NotFound, as naming another account's is.
func (s *Service) DescribeSnapshots(ctx context.Context, in DescribeInput) (*DescribeOutput, error) {
	if len(in.SnapshotIDs) > 0 {
		return s.describeNamed(ctx, in)
	}
	limit, err := describeLimit(opDescribe, in.MaxResults)
	if err != nil {
		return nil, err
	}
	now := s.now()
	after := ""
	if in.NextToken != nil {
		if after, err = s.tokens.VerifyCursor(*in.NextToken, token.CursorDescribeSnapshots, in.AccountID, in.Selection, now); err != nil {
			return nil, invalidNextToken(opDescribe, err)
		}
	}
	out := &DescribeOutput{Snapshots: []SnapshotInfo{}}
	for {
		recs, err := s.meta.ListSnapshots(ctx, in.AccountID, after, describeScanBatch)
		if err != nil {
			return nil, internal(opDescribe, err)
		}
		for _, rec := range recs {
			info := snapshotInfo(rec)
			if in.Match != nil && !in.Match(info) {
				continue
			}
			out.Snapshots = append(out.Snapshots, info)
			if limit > 0 && len(out.Snapshots) == limit {
				// A token only when more records follow, so that the last
				// page has none (paginators stop on its absence).
				if more, err := s.meta.ListSnapshots(ctx, in.AccountID, rec.ID, 1); err != nil {
					return nil, internal(opDescribe, err)
				} else if len(more) > 0 {
					out.NextToken = s.tokens.CursorToken(token.CursorDescribeSnapshots, in.AccountID, in.Selection, rec.ID, now.Add(PageTokenLifetime))
				}
				return out, nil
			}
		}
		if len(recs) < describeScanBatch {
			return out, nil
		}
		after = recs[len(recs)-1].ID
	}
}

// describeNamed answers a DescribeSnapshots that names its snapshots.
func (s *Service) describeNamed(ctx context.Context, in DescribeInput) (*DescribeOutput, error) {
	if in.MaxResults != nil {
		return nil, ebs.E(opDescribe, ebs.KindInvalid, ebs.ReasonInvalidParameterCombination,
			"The parameter snapshotSet cannot be used with the parameter maxResults")
	}
	ids := slices.Clone(in.SnapshotIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		if err := checkEC2SnapshotID(opDescribe, "snapshotId", id); err != nil {
			return nil, err
		}
	}
	out := &DescribeOutput{Snapshots: []SnapshotInfo{}}
	for _, id := range ids {
		rec, err := s.visible(ctx, opDescribe, in.AccountID, id)
		if err != nil {
			return nil, err
		}
		if info := snapshotInfo(rec); in.Match == nil || in.Match(info) {
			out.Snapshots = append(out.Snapshots, info)
		}
	}
	return out, nil
}

// snapshotInfo is rec as DescribeSnapshots shows it (docs/ec2-api.md
// §5.1.3).
func snapshotInfo(rec store.Snapshot) SnapshotInfo {
	info := SnapshotInfo{
		SnapshotID:  rec.ID,
		OwnerID:     rec.OwnerID,
		VolumeID:    ec2VolumeID,
		Status:      rec.State.Status(),
		StartTime:   rec.StartTime,
		VolumeSize:  rec.VolumeSize,
		Description: rec.Description,
		Tags:        rec.Tags,
		Encrypted:   rec.Encrypted,
		KMSKeyARN:   rec.KMSKeyARN,
	}
	switch rec.State {
	case store.StateCompleted:
		info.Progress = "100%"
		info.CompleteTime = rec.CompleteTime
		info.FullSizeBytes = rec.FullBlocks * ebs.BlockSize
	case store.StateCompleting:
		info.Progress = "99%"
	case store.StateError:
		info.Progress = "0%"
		info.StatusMsg = rec.StateMessage
	default:
		info.Progress = "0%"
	}
	return info
}
