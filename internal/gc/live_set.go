package gc

import "github.com/ebsd/ebsd/internal/ebs"

// liveSet is the exact set of keys the mark found reachable: 32 bytes of
// key and a map slot each, about 100 MB for a million unique blocks
// (512 GiB of unique data). docs/gc.md §3.4 plans a Bloom filter beyond a
// memory budget; until then the set is exact. The value is the number of
// the last account whose roots the mark found the key in (usage.go), which
// counts each account's unique keys at no extra memory.
type liveSet map[ebs.Digest]int32

func (l liveSet) Has(k ebs.Digest) bool { _, ok := l[k]; return ok }
