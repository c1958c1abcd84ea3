package snapexport

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/client"
)

// blockMap knows which blocks the snapshot holds and their tokens. It is
// filled lazily: a lookup of a block no listing covered yet lists one
// page from that block, which covers it and the blocks up to the last
// one the page returned (up to the volume's end when it was the last
// page). Reads of a region cost one ListSnapshotBlocks per 10000 written
// blocks, and a region never read is never listed.
type blockMap struct {
	c      *client.Client
	id     string
	blocks int32 // in the volume
	now    func() time.Time

	listMu sync.Mutex // one listing at a time: concurrent misses share it

	mu      sync.Mutex
	tokens  map[int32]string
	covered []span    // sorted, disjoint, not adjacent
	expiry  time.Time // earliest expiry of the tokens held
	lists   int       // ListSnapshotBlocks pages read, for tests and stats
}

// span is the block range [from, to).
type span struct{ from, to int32 }

// tokenMargin is how long before their expiry tokens are listed again:
// a block fetched with a token about to expire would only fail and be
// retried with a fresh one.
const tokenMargin = time.Hour

func newBlockMap(c *client.Client, id string, now func() time.Time) *blockMap {
	return &blockMap{c: c, id: id, now: now, tokens: map[int32]string{}}
}

// lookup returns the token of block i, "" when the snapshot does not hold
// it (it reads as zeros), listing first if needed and allowed; known is
// false when it was not allowed and the block is not covered.
func (m *blockMap) lookup(ctx context.Context, i int32, mayList bool) (token string, known bool, err error) {
	for attempt := 0; ; attempt++ {
		m.mu.Lock()
		if !m.expiry.IsZero() && m.now().After(m.expiry.Add(-tokenMargin)) {
			// Forget everything: every token was listed before this
			// expiry (pages of one listing share it).
			m.tokens, m.covered, m.expiry = map[int32]string{}, nil, time.Time{}
		}
		if m.isCovered(i) {
			t := m.tokens[i]
			m.mu.Unlock()
			return t, true, nil
		}
		m.mu.Unlock()
		if !mayList {
			return "", false, nil
		}
		if attempt == 3 {
			// Listed, and forgotten at once: the service's tokens expire
			// within tokenMargin of being listed.
			return "", false, fmt.Errorf("snapshot %s: the block tokens listed expire within %v", m.id, tokenMargin)
		}
		if err := m.list(ctx, i); err != nil {
			return "", false, err
		}
	}
}

// list lists from block i until a page covers it.
func (m *blockMap) list(ctx context.Context, i int32) error {
	m.listMu.Lock()
	defer m.listMu.Unlock()
	m.mu.Lock()
	done := m.isCovered(i)
	m.mu.Unlock()
	if done {
		return nil // listed meanwhile by another reader
	}
	next := i
	for page, err := range m.c.ListBlocks(ctx, m.id, client.ListOptions{StartBlock: i}) {
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.lists++
		if m.blocks == 0 && page.VolumeSize > 0 {
			m.blocks = int32(page.VolumeSize * (1 << 30) / client.BlockSize)
		}
		for _, b := range page.Blocks {
			m.tokens[b.Index] = b.Token
		}
		// An empty page's ExpiryTime is about now, on AWS as on ebsd
		// (spec §7.7): it says nothing of any token.
		if len(page.Blocks) > 0 && !page.ExpiryTime.IsZero() && (m.expiry.IsZero() || page.ExpiryTime.Before(m.expiry)) {
			m.expiry = page.ExpiryTime
		}
		if n := len(page.Blocks); n > 0 {
			last := page.Blocks[n-1].Index
			m.cover(span{next, last + 1})
			next = last + 1
			m.mu.Unlock()
			break // i is covered; whether more pages follow is not known
		}
		m.mu.Unlock()
	}
	// The listing ended (or broke off after covering i): when it ended,
	// no block past next is written.
	m.mu.Lock()
	if !m.isCovered(i) {
		m.cover(span{next, max(m.blocks, next+1)})
	}
	m.mu.Unlock()
	return nil
}

// isCovered reports whether a listing covered block i (m.mu held).
func (m *blockMap) isCovered(i int32) bool {
	k, found := slices.BinarySearchFunc(m.covered, i, func(s span, i int32) int {
		switch {
		case s.to <= i:
			return -1
		case s.from > i:
			return 1
		}
		return 0
	})
	_ = k
	return found
}

// cover adds s to the covered spans, merging (m.mu held).
func (m *blockMap) cover(s span) {
	if s.from >= s.to {
		return
	}
	out := make([]span, 0, len(m.covered)+1)
	for _, c := range m.covered {
		switch {
		case c.to < s.from || c.from > s.to:
			out = append(out, c)
		default: // overlapping or adjacent: absorb
			s = span{min(s.from, c.from), max(s.to, c.to)}
		}
	}
	out = append(out, s)
	slices.SortFunc(out, func(a, b span) int { return int(a.from) - int(b.from) })
	m.covered = out
}

// pages returns how many listing pages were read.
func (m *blockMap) pages() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lists
}
