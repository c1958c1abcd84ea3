package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Meta is an in-memory store.MetaStore. Create it with NewMeta.
//
// One mutex guards all maps. Each snapshot also has a RWMutex that
// PutBlock holds for reading and UpdateSnapshot and PurgeSnapshot for
// writing, as the persistent backends do, so that fn runs without the map
// mutex (it may call the store, except PutBlock, UpdateSnapshot or
// PurgeSnapshot on the same snapshot) while still excluding writes to its
// snapshot.
type Meta struct {
	secretMu sync.Mutex // serializes Secret, so generate runs once per name

	mu        sync.Mutex // guards the fields below
	closed    bool
	snapshots map[string]*snapshotEntry
	idem      map[idemKey]store.Idempotency
	secrets   map[string][]byte
	pending   map[string]int             // owner -> snapshots with State.Pending()
	listed    map[string]map[string]bool // owner -> IDs of snapshots not deleted
	usage     map[string]int64           // owner -> non-zero mappings of its snapshots (usage.go)
}

var _ store.MetaStore = (*Meta)(nil)

// snapshotEntry is everything Meta keeps about one snapshot.
type snapshotEntry struct {
	// writeMu is read-locked by PutBlock and locked by UpdateSnapshot.
	writeMu sync.RWMutex

	// Guarded by Meta.mu.
	record   store.Snapshot           // with a zero LastActivity: activity holds it
	blocks   map[int32]store.BlockRef // the snapshot's own writes
	activity time.Time
}

// snapshot returns a copy of the record with its LastActivity. Meta.mu
// must be held.
func (e *snapshotEntry) snapshot() store.Snapshot {
	s := cloneSnapshot(e.record)
	s.LastActivity = e.activity
	return s
}

type idemKey struct{ owner, token string }

// NewMeta returns an empty Meta.
func NewMeta() *Meta {
	return &Meta{
		snapshots: make(map[string]*snapshotEntry),
		idem:      make(map[idemKey]store.Idempotency),
		secrets:   make(map[string][]byte),
		pending:   make(map[string]int),
		listed:    make(map[string]map[string]bool),
		usage:     make(map[string]int64),
	}
}

func errClosed(op string) error { return fmt.Errorf("memstore: %s: %w", op, store.ErrClosed) }

func errNoSnapshot(op, id string) error {
	return fmt.Errorf("memstore: %s: snapshot %q: %w", op, id, store.ErrNotFound)
}

// CreateSnapshot implements store.MetaStore. The pending count of each
// owner is kept in m.pending, under the mutex that also guards the insert,
// and that UpdateSnapshot stores under: the checks of the parent and the
// copy source and the insert are one step with respect to a delete.
func (m *Meta) CreateSnapshot(_ context.Context, s store.Snapshot, idem *store.Idempotency, maxPending int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("CreateSnapshot")
	}
	if _, ok := m.snapshots[s.ID]; ok {
		return fmt.Errorf("memstore: CreateSnapshot: snapshot %q: %w", s.ID, store.ErrExists)
	}
	var k idemKey
	if idem != nil {
		k = idemKey{idem.OwnerID, idem.ClientToken}
		if _, ok := m.idem[k]; ok {
			return fmt.Errorf("memstore: CreateSnapshot: client token %q of %s: %w", idem.ClientToken, idem.OwnerID, store.ErrExists)
		}
	}
	// Under the mutex that UpdateSnapshot stores under too, so a parent
	// cannot be deleted between this check and the insert.
	if err := m.checkSources(s); err != nil {
		return fmt.Errorf("memstore: CreateSnapshot %q: %w", s.ID, err)
	}
	if s.State.Pending() && maxPending > 0 && m.pending[s.OwnerID] >= maxPending {
		return fmt.Errorf("memstore: CreateSnapshot: %s has %d pending snapshots: %w", s.OwnerID, m.pending[s.OwnerID], store.ErrLimit)
	}
	if idem != nil {
		m.idem[k] = cloneIdempotency(*idem)
	}
	s.LastActivity = time.Time{}
	m.snapshots[s.ID] = &snapshotEntry{record: cloneSnapshot(s), blocks: make(map[int32]store.BlockRef)}
	m.count(store.Snapshot{}, s)
	return nil
}

// checkSources returns ErrNotFound unless the parent of s and the source
// it is a copy of, when set, exist and are StateCompleted. m.mu must be
// held.
func (m *Meta) checkSources(s store.Snapshot) error {
	for _, id := range []string{s.ParentID, s.CopySourceID} {
		if id == "" {
			continue
		}
		e, ok := m.snapshots[id]
		if !ok {
			return fmt.Errorf("snapshot %q: %w", id, store.ErrNotFound)
		}
		if e.record.State != store.StateCompleted {
			return fmt.Errorf("snapshot %q is %s: %w", id, e.record.State, store.ErrNotFound)
		}
	}
	return nil
}

// count moves a snapshot's contribution to the pending counts and to the
// lists of ListSnapshots from what its record was to what it is. m.mu
// must be held.
func (m *Meta) count(was, is store.Snapshot) {
	if was.State.Pending() {
		if m.pending[was.OwnerID]--; m.pending[was.OwnerID] == 0 {
			delete(m.pending, was.OwnerID)
		}
	}
	if is.State.Pending() {
		m.pending[is.OwnerID]++
	}
	if was.ID != "" && was.State != store.StateDeleted {
		if delete(m.listed[was.OwnerID], was.ID); len(m.listed[was.OwnerID]) == 0 {
			delete(m.listed, was.OwnerID)
		}
	}
	if is.State != store.StateDeleted {
		if m.listed[is.OwnerID] == nil {
			m.listed[is.OwnerID] = make(map[string]bool)
		}
		m.listed[is.OwnerID][is.ID] = true
	}
}

// GetSnapshot implements store.MetaStore.
func (m *Meta) GetSnapshot(_ context.Context, id string) (store.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return store.Snapshot{}, errClosed("GetSnapshot")
	}
	e, ok := m.snapshots[id]
	if !ok {
		return store.Snapshot{}, errNoSnapshot("GetSnapshot", id)
	}
	return e.snapshot(), nil
}

// entry returns the entry of snapshot id.
func (m *Meta) entry(op, id string) (*snapshotEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed(op)
	}
	e, ok := m.snapshots[id]
	if !ok {
		return nil, errNoSnapshot(op, id)
	}
	return e, nil
}

// UpdateSnapshot implements store.MetaStore.
func (m *Meta) UpdateSnapshot(_ context.Context, id string, fn func(*store.Snapshot) error) (store.Snapshot, error) {
	e, err := m.entry("UpdateSnapshot", id)
	if err != nil {
		return store.Snapshot{}, err
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()

	// Holding writeMu, no PutBlock of the snapshot is in flight: the
	// activity fn sees is final until the update is stored. Nor is a
	// PurgeSnapshot, but one may have removed the entry before.
	m.mu.Lock()
	if m.snapshots[id] != e {
		m.mu.Unlock()
		return store.Snapshot{}, errNoSnapshot("UpdateSnapshot", id)
	}
	s := e.snapshot()
	m.mu.Unlock()
	was := s.State
	if err := fn(&s); err != nil {
		return store.Snapshot{}, err
	}
	if s.ID != id {
		return store.Snapshot{}, fmt.Errorf("memstore: UpdateSnapshot: fn changed ID %q to %q", id, s.ID)
	}
	if was == store.StateDeleted && s.State != store.StateDeleted {
		// Deleted is terminal: the collector's roots and purges rely on it.
		return store.Snapshot{}, fmt.Errorf("memstore: UpdateSnapshot %q: a deleted snapshot cannot become %s: %w",
			id, s.State, store.ErrNotWritable)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return store.Snapshot{}, errClosed("UpdateSnapshot")
	}
	s.LastActivity = time.Time{}
	m.count(e.record, s)
	e.record = cloneSnapshot(s)
	return e.snapshot(), nil
}

// ScanSnapshots implements store.MetaStore. It calls fn on a copy of the
// matching records taken when it starts, sorted by ID.
func (m *Meta) ScanSnapshots(ctx context.Context, fn func(store.Snapshot) (bool, error), states ...store.State) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed("ScanSnapshots")
	}
	var found []store.Snapshot
	for _, e := range m.snapshots {
		if len(states) == 0 || slices.Contains(states, e.record.State) {
			found = append(found, e.snapshot())
		}
	}
	m.mu.Unlock()

	slices.SortFunc(found, func(a, b store.Snapshot) int { return cmp.Compare(a.ID, b.ID) })
	for _, s := range found {
		if err := ctx.Err(); err != nil {
			return err
		}
		more, err := fn(s)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// GetIdempotency implements store.MetaStore.
func (m *Meta) GetIdempotency(_ context.Context, ownerID, token string) (store.Idempotency, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return store.Idempotency{}, errClosed("GetIdempotency")
	}
	r, ok := m.idem[idemKey{ownerID, token}]
	if !ok {
		return store.Idempotency{}, fmt.Errorf("memstore: GetIdempotency: client token %q of %s: %w", token, ownerID, store.ErrNotFound)
	}
	return cloneIdempotency(r), nil
}

// Secret implements store.MetaStore.
func (m *Meta) Secret(_ context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	m.secretMu.Lock()
	defer m.secretMu.Unlock()

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errClosed("Secret")
	}
	v, ok := m.secrets[name]
	m.mu.Unlock()
	if ok {
		return slices.Clone(v), nil
	}

	v, err := generate()
	if err != nil {
		return nil, fmt.Errorf("memstore: Secret %q: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed("Secret")
	}
	m.secrets[name] = slices.Clone(v)
	return slices.Clone(v), nil
}

// Close implements store.MetaStore. It drops everything the store holds.
func (m *Meta) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("Close")
	}
	m.closed = true
	m.snapshots, m.idem, m.secrets, m.pending, m.listed, m.usage = nil, nil, nil, nil, nil, nil
	return nil
}
