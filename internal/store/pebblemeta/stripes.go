package pebblemeta

import (
	"hash/maphash"
	"sync"
	"unsafe"
)

// stripeCount is the number of locks snapshot IDs hash to. Two snapshots
// that share a stripe only delay each other's UpdateSnapshot.
const stripeCount = 256

// stripes maps a snapshot ID to the RWMutex that orders its PutBlocks
// (read-locked) against its UpdateSnapshots (locked).
type stripes struct {
	seed  maphash.Seed
	locks [stripeCount]paddedRWMutex
}

// paddedRWMutex keeps each lock on its own cache line, so that writers to
// different snapshots do not contend on one.
type paddedRWMutex struct {
	sync.RWMutex
	_ [64 - unsafe.Sizeof(sync.RWMutex{})]byte
}

func (s *stripes) init() { s.seed = maphash.MakeSeed() }

func (s *stripes) of(id string) *sync.RWMutex { return &s.locks[s.index(id)].RWMutex }

// index returns the number of the stripe of id.
func (s *stripes) index(id string) int { return int(maphash.String(s.seed, id) % stripeCount) }
