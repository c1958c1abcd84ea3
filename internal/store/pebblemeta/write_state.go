package pebblemeta

import (
	"sync"
	"sync/atomic"

	"github.com/ebsd/ebsd/internal/store"
)

// maxWriteStates bounds the cache of write states. When it is full the
// cache is emptied: crude, but bounded and without an LRU's bookkeeping,
// and a miss only costs a read of the record.
const maxWriteStates = 4096

// writeState is what PutBlock needs of a snapshot's record. Decoding the
// record took 40% of PutBlock's CPU time before it was cached.
type writeState struct {
	state store.State
	owner string // whose usage counter its writes change
	root  string
	depth int
}

func writeStateOf(s store.Snapshot) writeState {
	return writeState{state: s.State, owner: s.OwnerID, root: rootOf(s), depth: s.Depth}
}

// writeStates caches the write states of snapshots. It is correct because
// of the stripe locks: PutBlock fills it while holding its stripe's read
// lock, so from a record no UpdateSnapshot can change meanwhile, and
// UpdateSnapshot refreshes it while holding the write lock, after its
// commit.
type writeStates struct {
	m sync.Map // snapshot ID -> writeState
	n atomic.Int64
}

func (c *writeStates) get(id string) (writeState, bool) {
	v, ok := c.m.Load(id)
	if !ok {
		return writeState{}, false
	}
	return v.(writeState), true
}

func (c *writeStates) put(id string, ws writeState) {
	if _, loaded := c.m.Swap(id, ws); !loaded && c.n.Add(1) > maxWriteStates {
		c.m.Clear()
		c.n.Store(0)
	}
}

func (c *writeStates) forget(id string) { c.m.Delete(id) }
