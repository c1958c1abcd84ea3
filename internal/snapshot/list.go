package snapshot

import (
	"context"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/token"
)

const opList = "ListSnapshotBlocks"

// defaultMaxResults is the page size when MaxResults is omitted (AWS leaves
// it undocumented).
const defaultMaxResults = 10000

// ListSnapshotBlocks lists the written blocks of a completed snapshot, its
// own and inherited, with a block token each (spec §3.5, §7.8).
func (s *Service) ListSnapshotBlocks(ctx context.Context, in ListBlocksInput) (*ListBlocksOutput, error) {
	var f fields
	f.snapshotID("snapshotId", in.SnapshotID)
	f.token("nextToken", in.NextToken, false)
	limit, start := pageParams(&f, in.MaxResults, in.StartingBlockIndex)
	if err := f.err(opList); err != nil {
		return nil, err
	}
	snap, err := s.readable(ctx, opList, in.AccountID, in.SnapshotID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	snaps := []string{snap.ID}
	if in.NextToken != nil {
		if start, err = s.pageStart(opList, *in.NextToken, token.PageListBlocks, in.AccountID, snaps, now); err != nil {
			return nil, err
		}
	}
	out := &ListBlocksOutput{
		Blocks:     []Block{},
		ExpiryTime: now,
		VolumeSize: snap.VolumeSize,
		BlockSize:  ebs.BlockSize,
	}
	if start >= ebs.BlockCount(snap.VolumeSize) {
		return out, nil
	}
	chain, err := s.chain(ctx, snap)
	if err != nil {
		return nil, internal(opList, err)
	}
	refs, err := s.meta.ViewBlocks(ctx, chain, int32(start), limit+1)
	if err != nil {
		return nil, internal(opList, err)
	}
	if len(refs) > limit {
		out.NextToken = s.tokens.PageToken(token.PageListBlocks, in.AccountID, snaps, refs[limit].Index, now.Add(PageTokenLifetime))
		refs = refs[:limit]
	}
	if len(refs) > 0 {
		expires := now.Add(BlockTokenLifetime).Truncate(time.Second)
		out.ExpiryTime = expires
		out.Blocks = make([]Block, len(refs))
		for i, b := range refs {
			out.Blocks[i] = Block{BlockIndex: b.Index, BlockToken: s.blockToken(in.AccountID, snap.ID, b, expires.Unix())}
		}
	}
	return out, nil
}

// pageParams checks MaxResults and StartingBlockIndex, with their defaults.
func pageParams(f *fields, maxResults, startingIndex *string) (limit int, start int64) {
	limit = defaultMaxResults
	if n, ok := f.integer("maxResults", maxResults, false, 100, 10000); ok {
		limit = int(n)
	}
	start, _ = f.integer("startingBlockIndex", startingIndex, false, 0, 1<<31-1)
	return limit, start
}

// pageStart returns where a page token says to resume. A valid token
// overrides StartingBlockIndex (spec §7.7).
func (s *Service) pageStart(op, tok string, kind token.PageKind, account string, snaps []string, now time.Time) (int64, error) {
	next, err := s.tokens.VerifyPage(tok, kind, account, snaps, now)
	if err != nil {
		e := ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidPageToken, "The pagination token %s is invalid.", tok)
		e.Err = err
		return 0, e
	}
	return int64(next), nil
}

func unix(sec int64) time.Time { return time.Unix(sec, 0) }
