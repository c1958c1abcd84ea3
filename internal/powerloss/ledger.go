package powerloss

import (
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// ledger is the model: what the service acknowledged, from which every
// live snapshot's bytes are predicted (view.go). Workers record an
// operation after it returned; the crasher freezes a copy while it cuts the
// power (freezeDuring), so the copy holds exactly the operations that
// returned before the cut, which therefore must survive it, and the writes
// that had started, which may or may not have.
type ledger struct {
	mu    sync.Mutex
	snaps map[string]*snapRecord
	acks  int // acknowledgements recorded, for pacing the cuts
}

// snapRecord is what was acknowledged of one snapshot.
type snapRecord struct {
	id      string
	account string
	// parent is the snapshot this one inherits its view from: the
	// ParentSnapshotId of a child, the source of a lineage copy.
	parent string
	// copyOf is the source of a re-seal copy (plain to encrypted), whose
	// own blocks the service's copy job writes: its view is the source's.
	copyOf    string
	encrypted bool
	abandoned bool // its uploader gave up on it: it times out
	// timeout and lastAck decide whether the error state is legitimate:
	// the snapshot may time out once the service's clock passes lastAck
	// (read before the last acknowledged start or write) plus timeout.
	timeout time.Duration
	lastAck time.Time
	acked   map[int32]ebs.Digest // acknowledged writes of its own
	// inflight is the write that started and was not acknowledged, if
	// any: one uploader writes a snapshot, one block at a time.
	inflight *write
	complete bool // CompleteSnapshot returned, or the copy was seen completed
	copying  bool // a re-seal copy not yet seen completed
	deleting bool // DeleteSnapshot was called
	deleted  bool // DeleteSnapshot returned success
}

// write is one block write.
type write struct {
	index  int32
	digest ebs.Digest
}

func newLedger() *ledger { return &ledger{snaps: make(map[string]*snapRecord)} }

// started records an acknowledged StartSnapshot or CopySnapshot.
func (l *ledger) started(r *snapRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks++
	if r.acked == nil {
		r.acked = make(map[int32]ebs.Digest)
	}
	l.snaps[r.id] = r
}

// attempt records a write about to be sent.
func (l *ledger) attempt(id string, index int32, d ebs.Digest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.snaps[id].inflight = &write{index, d}
}

// put records an acknowledged write, sent at the service's time at.
func (l *ledger) put(id string, index int32, d ebs.Digest, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks++
	r := l.snaps[id]
	r.acked[index] = d
	r.inflight = nil
	r.lastAck = at
}

// completed records an acknowledged CompleteSnapshot, or a re-seal copy
// seen completed.
func (l *ledger) completed(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.snaps[id]; r != nil && !r.complete {
		l.acks++
		r.complete, r.copying = true, false
	}
}

// deleted records an acknowledged DeleteSnapshot.
func (l *ledger) deleted(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks++
	l.snaps[id].deleted = true
}

// isDeleting reports whether DeleteSnapshot was called on id: a request on
// it, or with it as a parent or source, may then find it gone.
func (l *ledger) isDeleting(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.snaps[id]
	return r != nil && r.deleting
}

// acknowledged returns how many acknowledgements were recorded.
func (l *ledger) acknowledged() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acks
}

// readable reports whether r can be read: completed and not being
// deleted.
func (r *snapRecord) readable() bool { return r.complete && !r.deleting }

// pick returns a random snapshot of account that ok accepts, or nil. The
// candidates are sorted so that a seed replays the same choices, up to
// goroutine scheduling. l.mu must be held.
func (l *ledger) pick(rng *rand.Rand, account string, ok func(*snapRecord) bool) *snapRecord {
	var ids []string
	for id, r := range l.snaps {
		if r.account == account && ok(r) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	return l.snaps[ids[rng.IntN(len(ids))]]
}

// pickReadable returns a random readable snapshot of account, as a parent
// or a copy source, and whether it is encrypted; "" when there is none.
func (l *ledger) pickReadable(rng *rand.Rand, account string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.pick(rng, account, (*snapRecord).readable)
	if r == nil {
		return "", false
	}
	return r.id, r.encrypted
}

// pickLarge returns, of a few readable snapshots of account drawn at
// random, the one with the largest view, and whether it is encrypted; ""
// when there is none. A re-seal copy of it keeps its job running longest,
// which is the window a collection must not take the deleted source's
// blocks in.
func (l *ledger) pickLarge(rng *rand.Rand, account string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := newViews(l.snaps)
	var best *snapRecord
	size := -1
	for range 4 {
		r := l.pick(rng, account, (*snapRecord).readable)
		if r == nil {
			return "", false
		}
		if m, err := v.of(r.id); err == nil && len(m) > size {
			best, size = r, len(m)
		}
	}
	if best == nil {
		return "", false
	}
	return best.id, best.encrypted
}

// ownIndexes returns the indexes snapshot id wrote itself, sorted.
func (l *ledger) ownIndexes(id string) []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.snaps[id].acked))
}

// victim kinds for pickVictim.
const (
	victimCompleted = iota // a completed snapshot, copies and parents of live children included
	victimPending          // an upload in progress or abandoned, perhaps another worker's
	victimCopying          // a re-seal copy in progress
)

// pickVictim chooses a snapshot of account of the given kind to delete and
// marks it deleting, or returns "".
func (l *ledger) pickVictim(rng *rand.Rand, account string, kind int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.pick(rng, account, func(r *snapRecord) bool {
		if r.deleting {
			return false
		}
		switch kind {
		case victimCompleted:
			return r.complete
		case victimPending:
			return !r.complete && r.copyOf == ""
		default:
			return r.copying
		}
	})
	if r == nil {
		return ""
	}
	r.deleting = true
	return r.id
}

// markDeleting marks id deleting, as a worker deletes a snapshot it chose, and
// reports false when another worker is deleting it already.
func (l *ledger) markDeleting(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.snaps[id]
	if r.deleting {
		return false
	}
	r.deleting = true
	return true
}

// copying returns the re-seal copies of account not yet seen completed.
func (l *ledger) copying(account string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, r := range l.snaps {
		if r.account == account && r.copying && !r.deleting {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// readables returns readable snapshots with a frozen copy of the ledger
// to predict them from: all of them when account is "", or else one of
// account's chosen at random. A worker may delete one while it is read:
// a reader then forgives a 404 (and nothing else).
func (l *ledger) readables(rng *rand.Rand, account string) ([]string, map[string]*snapRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	if account == "" {
		for id, r := range l.snaps {
			if r.readable() {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
	} else if r := l.pick(rng, account, (*snapRecord).readable); r != nil {
		ids = []string{r.id}
	}
	return ids, l.copyLocked()
}

// freeze returns a deep copy of the ledger.
func (l *ledger) freeze() map[string]*snapRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.copyLocked()
}

// freezeDuring returns a deep copy of the ledger and runs cut before any
// worker can record or start another operation: a write that starts after
// the copy is made cannot reach the file system the cut leaves, so the
// copy's in-flight writes are all the ones that may have landed.
func (l *ledger) freezeDuring(cut func()) map[string]*snapRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.copyLocked()
	cut()
	return out
}

func (l *ledger) copyLocked() map[string]*snapRecord {
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
