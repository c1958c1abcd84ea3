package client

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"sync"
)

// blockDigest is one block's index and the SHA-256 of its content.
type blockDigest struct {
	index int32
	sum   [sha256.Size]byte
}

// blockDigests is a compact list of block digests: 36 bytes a block, where
// a map would take several times that, which matters for the 2 million
// blocks of a 1 TiB image. Lookups need it sorted by index.
type blockDigests []blockDigest

// sortByIndex sorts s by block index.
func (s blockDigests) sortByIndex() {
	slices.SortStableFunc(s, func(a, b blockDigest) int { return int(a.index) - int(b.index) })
}

// find returns the digest of block index; s must be sorted.
func (s blockDigests) find(index int32) ([sha256.Size]byte, bool) {
	i, ok := slices.BinarySearchFunc(s, index, func(e blockDigest, t int32) int { return int(e.index) - int(t) })
	if !ok {
		return [sha256.Size]byte{}, false
	}
	return s[i].sum, true
}

// linear returns the LINEAR aggregate checksum of s, which must be sorted
// with distinct indexes: the Base64 SHA-256 of the raw 32-byte digests
// concatenated in ascending index order (spec §7.6).
func (s blockDigests) linear() string {
	h := sha256.New()
	for i := range s {
		h.Write(s[i].sum[:])
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// dedupe drops all but the last of entries with equal indexes; s must be
// sorted (stably, so that the last added wins).
func (s blockDigests) dedupe() blockDigests {
	out := s[:0]
	for i, d := range s {
		if i+1 < len(s) && s[i+1].index == d.index {
			continue
		}
		out = append(out, d)
	}
	return out
}

// overlay returns the union of own and inherited, both sorted, taking
// own's digest where both have an index: a child's view of its blocks.
func overlay(own, inherited blockDigests) blockDigests {
	out := make(blockDigests, 0, len(own)+len(inherited))
	i, j := 0, 0
	for i < len(own) || j < len(inherited) {
		switch {
		case j == len(inherited) || (i < len(own) && own[i].index < inherited[j].index):
			out = append(out, own[i])
			i++
		case i == len(own) || inherited[j].index < own[i].index:
			out = append(out, inherited[j])
			j++
		default: // same index: the child's write shadows the parent's
			out = append(out, own[i])
			i++
			j++
		}
	}
	return out
}

// digestLog collects digests from many goroutines, in any order.
type digestLog struct {
	mu sync.Mutex
	s  blockDigests
}

func (l *digestLog) add(index int32, sum [sha256.Size]byte) {
	l.mu.Lock()
	l.s = append(l.s, blockDigest{index, sum})
	l.mu.Unlock()
}

// sorted returns what was collected, sorted by index.
func (l *digestLog) sorted() blockDigests {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.sortByIndex()
	return l.s
}
