package packblocks

import (
	"context"
	"errors"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// errCopyDropped settles the claim a Get took on a key to mark its copy
// corrupt: the Puts of the key waiting on the claim see an error and try
// again, and find the key not stored.
var errCopyDropped = errors.New("packblocks: corrupt copy dropped")

// dropCorrupt marks the copy of key at bad corrupt in the index, once Get
// found that its bytes fail their checksums, so that the key no longer
// counts as stored and the next Put of the content stores it again.
// Without this, every later Put of the content would be a dedup hit on the
// corrupt copy, acknowledged while the good bytes it carried are thrown
// away.
//
// It holds the key's claim, as a Put does, so that no Put of the key can
// decide on the index meanwhile, and it changes the index only if it still
// points at bad: a concurrent Get may have dropped it already, and a Put
// may since have stored a good copy. The syncer writes the mark, in a
// synced batch (see Store.index), and settles the claim.
//
// A read-only store marks nothing: it has no syncer and cannot write; the
// copy is found corrupt again once the store is writable.
func (s *Store) dropCorrupt(ctx context.Context, key ebs.Digest, bad location) {
	if s.readOnly { // stable: the caller holds closeMu
		return
	}
	for {
		call, leader := s.claim(key)
		if !leader {
			select {
			case <-call.done:
				continue
			case <-ctx.Done():
				return
			}
		}
		loc, err := lookup(s.db, key)
		if err != nil || loc.corrupt || !loc.sameEntry(bad) {
			s.settle(key, call, errCopyDropped)
			return
		}
		s.mu.Lock()
		s.pending.join(groupEntry{kind: entryCorrupt, key: key, loc: bad, call: call}, time.Now())
		s.kickSyncer()
		s.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
		}
		return
	}
}
