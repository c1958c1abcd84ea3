package snapshot

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/token"
)

const opDescribeTags = "DescribeTags"

// DescribeTags lists the tags of the caller's snapshots that Match selects
// (docs/ec2-api.md §5.6), a page at a time, ordered by snapshot ID and
// then key. A page has a NextToken only when more tags follow.
func (s *Service) DescribeTags(ctx context.Context, in DescribeTagsInput) (*DescribeTagsOutput, error) {
	limit, err := describeLimit(opDescribeTags, in.MaxResults)
	if err != nil {
		return nil, err
	}
	now := s.now()
	p := tagPager{match: in.Match, limit: limit, out: &DescribeTagsOutput{Tags: []TagInfo{}}}
	after := ""
	if in.NextToken != nil {
		cur, err := s.tokens.VerifyCursor(*in.NextToken, token.CursorDescribeTags, in.AccountID, in.Selection, now)
		if err != nil {
			return nil, invalidNextToken(opDescribeTags, err)
		}
		id, key, ok := strings.Cut(cur, "\x00")
		if !ok {
			return nil, invalidNextToken(opDescribeTags, errors.New("malformed cursor"))
		}
		// The snapshot the last page stopped in, from after its key; it
		// may have been deleted since.
		rec, err := s.meta.GetSnapshot(ctx, id)
		switch {
		case err == nil && rec.OwnerID == in.AccountID && rec.State != store.StateDeleted:
			p.add(rec, key)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, internal(opDescribeTags, err)
		}
		after = id
	}
	for !p.done() {
		recs, err := s.meta.ListSnapshots(ctx, in.AccountID, after, describeScanBatch)
		if err != nil {
			return nil, internal(opDescribeTags, err)
		}
		for _, rec := range recs {
			if p.add(rec, ""); p.done() {
				break
			}
		}
		if len(recs) < describeScanBatch {
			break
		}
		after = recs[len(recs)-1].ID
	}
	if p.more {
		last := p.out.Tags[len(p.out.Tags)-1]
		p.out.NextToken = s.tokens.CursorToken(token.CursorDescribeTags, in.AccountID, in.Selection,
			last.ResourceID+"\x00"+last.Key, now.Add(PageTokenLifetime))
	}
	return p.out, nil
}

// tagPager fills one page of DescribeTags.
type tagPager struct {
	match func(TagInfo) bool
	limit int // 0: no limit
	out   *DescribeTagsOutput
	more  bool // a match was found after the page filled
}

// add adds the matching tags of rec with keys after afterKey.
func (p *tagPager) add(rec store.Snapshot, afterKey string) {
	tags := slices.Clone(rec.Tags)
	slices.SortFunc(tags, func(a, b ebs.Tag) int { return strings.Compare(a.Key, b.Key) })
	for _, t := range tags {
		if afterKey != "" && t.Key <= afterKey {
			continue
		}
		info := TagInfo{ResourceID: rec.ID, Key: t.Key, Value: t.Value}
		if p.match != nil && !p.match(info) {
			continue
		}
		if p.limit > 0 && len(p.out.Tags) == p.limit {
			p.more = true
			return
		}
		p.out.Tags = append(p.out.Tags, info)
	}
}

// done reports whether the page is full and known to have a successor.
func (p *tagPager) done() bool { return p.more }
