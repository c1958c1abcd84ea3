package packblocks

import (
	"sync"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

var _ store.Collectable = (*Store)(nil)

// touchShards spreads the touched set over locks: every dedup hit and
// every indexed key of an armed store lands in it.
const touchShards = 64

// touchSet is the set of keys that Puts found stored or stored while a
// collection is armed (docs/gc.md §3.5). It has no epochs: it records
// every touch from Arm on, which is conservative, and lives for one
// collection.
type touchSet struct {
	shards [touchShards]struct {
		mu sync.Mutex
		m  map[ebs.Digest]struct{}
	}
}

func newTouchSet() *touchSet {
	t := &touchSet{}
	for i := range t.shards {
		t.shards[i].m = make(map[ebs.Digest]struct{})
	}
	return t
}

func (t *touchSet) add(k ebs.Digest) {
	sh := &t.shards[k[0]%touchShards]
	sh.mu.Lock()
	sh.m[k] = struct{}{}
	sh.mu.Unlock()
}

func (t *touchSet) has(k ebs.Digest) bool {
	sh := &t.shards[k[0]%touchShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.m[k]
	return ok
}

// Arm implements store.Collectable: from now until disarm, every key a Put
// finds stored (in lead, atomically with its index check, under touchMu)
// and every key the syncer indexes (index) is touched, and Sweep keeps it.
// Arming an armed store shares its set; the set goes when the last disarm
// is called. Calling disarm again does nothing.
func (s *Store) Arm() (disarm func()) {
	s.armMu.Lock()
	defer s.armMu.Unlock()
	if s.arms == 0 {
		s.touched.Store(newTouchSet())
	}
	s.arms++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.armMu.Lock()
			defer s.armMu.Unlock()
			if s.arms--; s.arms == 0 {
				s.touched.Store(nil)
			}
		})
	}
}

// touch records that key was used, if a collection is armed.
func (s *Store) touch(key ebs.Digest) {
	if t := s.touched.Load(); t != nil {
		t.add(key)
	}
}
