package powerloss

import (
	"maps"
	"slices"
	"sync"

	"github.com/ebsd/ebsd/internal/ebs"
)

// ledger records what the service acknowledged. Workers record an
// operation after it returned; the crasher freezes a copy before it cuts
// the power, so the copy holds only operations that returned before the
// cut, which therefore must survive it.
type ledger struct {
	mu    sync.Mutex
	snaps map[string]*snapRecord
	acks  int // acknowledgements recorded, for pacing the cuts
}

// snapRecord is what was acknowledged of one snapshot.
type snapRecord struct {
	id       string
	account  string
	parent   string
	timeout  bool // started with the shortest timeout and abandoned
	acked    map[int32]ebs.Digest
	complete bool // CompleteSnapshot returned success
}

func newLedger() *ledger { return &ledger{snaps: make(map[string]*snapRecord)} }

func (l *ledger) started(id, account, parent string, abandoned bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks++
	l.snaps[id] = &snapRecord{id: id, account: account, parent: parent, timeout: abandoned,
		acked: make(map[int32]ebs.Digest)}
}

func (l *ledger) put(id string, index int32, d ebs.Digest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks++
	l.snaps[id].acked[index] = d
}

func (l *ledger) completed(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks++
	l.snaps[id].complete = true
}

// acknowledged returns how many acknowledgements were recorded.
func (l *ledger) acknowledged() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acks
}

// completedSnapshots returns the snapshots of account whose completion was
// acknowledged, as candidate parents.
func (l *ledger) completedSnapshots(account string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, r := range l.snaps {
		if r.complete && r.account == account {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// freeze returns a deep copy of the ledger.
func (l *ledger) freeze() map[string]*snapRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]*snapRecord, len(l.snaps))
	for id, r := range l.snaps {
		c := *r
		c.acked = maps.Clone(r.acked)
		out[id] = &c
	}
	return out
}

// restore replaces the ledger with a frozen copy: after a cut, the
// operations that returned after the freeze may or may not have survived,
// and the next cycle must not rely on them.
func (l *ledger) restore(frozen map[string]*snapRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.snaps = frozen
}
