package snapshot

import (
	"context"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/token"
)

const opChanged = "ListChangedBlocks"

// ListChangedBlocks lists the blocks that differ between two completed
// snapshots of one lineage (spec §3.6, §7.9): every index written, on
// either side, by the snapshots between each of them and their lowest
// common ancestor. Like AWS it compares writes, not contents. The candidate
// indexes come from those snapshots' own writes only, so the cost grows
// with the changed blocks, not with the lineage's depth or the volume size.
func (s *Service) ListChangedBlocks(ctx context.Context, in ListChangedInput) (*ListChangedOutput, error) {
	var f fields
	f.snapshotID("secondSnapshotId", in.SecondSnapshotID)
	f.optSnapshotID("firstSnapshotId", in.FirstSnapshotID)
	f.token("nextToken", in.NextToken, false)
	limit, start := pageParams(&f, in.MaxResults, in.StartingBlockIndex)
	if err := f.err(opChanged); err != nil {
		return nil, err
	}
	// The model makes the first snapshot optional; the real service does
	// not (spec §7.9).
	if in.FirstSnapshotID == nil {
		return nil, ebs.E(opChanged, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "First snapshot should not be empty or null")
	}
	second, err := s.readable(ctx, opChanged, in.AccountID, in.SecondSnapshotID)
	if err != nil {
		return nil, err
	}
	first, err := s.readable(ctx, opChanged, in.AccountID, *in.FirstSnapshotID)
	if err != nil {
		return nil, err
	}
	unrelated := ebs.E(opChanged, ebs.KindInvalid, ebs.ReasonUnrelatedSnapshots, "%s and %s are not related", first.ID, second.ID)
	if first.RootID != second.RootID {
		return nil, unrelated
	}

	now := s.now()
	pair := []string{first.ID, second.ID}
	if in.NextToken != nil {
		if start, err = s.pageStart(opChanged, *in.NextToken, token.PageChangedBlocks, in.AccountID, pair, now); err != nil {
			return nil, err
		}
	}
	out := &ListChangedOutput{
		ChangedBlocks: []ChangedBlock{},
		ExpiryTime:    now,
		VolumeSize:    second.VolumeSize,
		BlockSize:     ebs.BlockSize,
	}
	firstChain, err := s.chain(ctx, first)
	if err != nil {
		return nil, internal(opChanged, err)
	}
	secondChain, err := s.chain(ctx, second)
	if err != nil {
		return nil, internal(opChanged, err)
	}
	ia, ib, ok := commonAncestor(firstChain, secondChain)
	if !ok {
		return nil, unrelated
	}
	// The snapshots below the common ancestor on each side wrote every
	// changed block; a snapshot compared with itself or its ancestor's
	// view yields only the other side's writes.
	writers := append(append([]string{}, firstChain[:ia]...), secondChain[:ib]...)
	if len(writers) == 0 || start >= maxBlocks(first, second) {
		return out, nil
	}
	indexes, err := s.meta.WrittenIndexes(ctx, writers, int32(start), limit+1)
	if err != nil {
		return nil, internal(opChanged, err)
	}
	if len(indexes) > limit {
		out.NextToken = s.tokens.PageToken(token.PageChangedBlocks, in.AccountID, pair, indexes[limit], now.Add(PageTokenLifetime))
		indexes = indexes[:limit]
	}
	if len(indexes) == 0 {
		return out, nil
	}
	firstRefs, inFirst, err := s.meta.ResolveBlocks(ctx, firstChain, indexes)
	if err != nil {
		return nil, internal(opChanged, err)
	}
	secondRefs, inSecond, err := s.meta.ResolveBlocks(ctx, secondChain, indexes)
	if err != nil {
		return nil, internal(opChanged, err)
	}
	expires := now.Add(BlockTokenLifetime).Truncate(time.Second)
	out.ExpiryTime = expires
	out.ChangedBlocks = make([]ChangedBlock, len(indexes))
	for i, idx := range indexes {
		cb := ChangedBlock{BlockIndex: idx}
		if inFirst[i] {
			cb.FirstBlockToken = s.blockToken(in.AccountID, first.ID, store.IndexedRef{Index: idx, Ref: firstRefs[i]}, expires.Unix())
		}
		if inSecond[i] {
			cb.SecondBlockToken = s.blockToken(in.AccountID, second.ID, store.IndexedRef{Index: idx, Ref: secondRefs[i]}, expires.Unix())
		}
		out.ChangedBlocks[i] = cb
	}
	return out, nil
}

// maxBlocks is the block count of the larger of two volumes.
func maxBlocks(a, b store.Snapshot) int64 {
	return max(ebs.BlockCount(a.VolumeSize), ebs.BlockCount(b.VolumeSize))
}
