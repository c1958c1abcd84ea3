package snapshot

import (
	"context"
	"fmt"
	"sync"

	"github.com/ebsd/ebsd/internal/store"
)

// chainCacheSize bounds the chain cache; it is cleared when full, which is
// crude but keeps memory bounded without an LRU's bookkeeping.
const chainCacheSize = 4096

// chainCache remembers snapshot chains. A chain never changes once the
// snapshot exists (parents are fixed at StartSnapshot), so entries never go
// stale.
type chainCache struct {
	mu sync.Mutex
	m  map[string][]string
}

func (c *chainCache) get(id string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.m[id]
	return ch, ok
}

func (c *chainCache) put(id string, chain []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= chainCacheSize {
		c.m = make(map[string][]string)
	}
	c.m[id] = chain
}

// chain returns snap's ID followed by its ancestors' IDs, nearest first:
// the lineage through which its blocks resolve.
func (s *Service) chain(ctx context.Context, snap store.Snapshot) ([]string, error) {
	if ch, ok := s.chains.get(snap.ID); ok {
		return ch, nil
	}
	chain := make([]string, 0, snap.Depth+1)
	chain = append(chain, snap.ID)
	cur := snap
	for cur.ParentID != "" {
		if parent, ok := s.chains.get(cur.ParentID); ok {
			chain = append(chain, parent...)
			break
		}
		p, err := s.meta.GetSnapshot(ctx, cur.ParentID)
		if err != nil {
			return nil, fmt.Errorf("ancestor %s of %s: %w", cur.ParentID, snap.ID, err)
		}
		chain = append(chain, p.ID)
		cur = p
	}
	if len(chain) != snap.Depth+1 {
		return nil, fmt.Errorf("lineage of %s has %d snapshots, its record says depth %d", snap.ID, len(chain), snap.Depth)
	}
	s.chains.put(snap.ID, chain)
	return chain, nil
}

// commonAncestor returns the lowest common ancestor's position in each
// chain, or ok=false when the chains share no snapshot. Chains of one
// lineage share their tail, so the search walks back from the roots.
func commonAncestor(a, b []string) (ia, ib int, ok bool) {
	i, j := len(a)-1, len(b)-1
	if i < 0 || j < 0 || a[i] != b[j] {
		return 0, 0, false
	}
	for i > 0 && j > 0 && a[i-1] == b[j-1] {
		i--
		j--
	}
	return i, j, true
}
