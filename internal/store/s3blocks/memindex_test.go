package s3blocks

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// memIndex is an Index in memory, with PGIndex's semantics, for the tests
// that do not need PostgreSQL. One mutex makes every method atomic.
type memIndex struct {
	mu      sync.Mutex
	epoch   uint64
	rows    map[ebs.Digest]IndexRow
	groups  map[int64]*memGroup
	nextID  int64
	dropped []IndexEntry
}

type memGroup struct {
	Group
	created, retired time.Time
}

var _ Index = (*memIndex)(nil)

func newMemIndex() *memIndex {
	return &memIndex{epoch: 1, rows: make(map[ebs.Digest]IndexRow), groups: make(map[int64]*memGroup), nextID: 1}
}

func (m *memIndex) Touch(ctx context.Context, key ebs.Digest) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[key]
	if ok && r.Touched < m.epoch {
		r.Touched = m.epoch
		m.rows[key] = r
	}
	return ok, ctx.Err()
}

func (m *memIndex) Lookup(ctx context.Context, key ebs.Digest) (Location, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[key]
	if !ok {
		return Location{}, store.ErrNotFound
	}
	return r.Loc, nil
}

func (m *memIndex) NewGroup(ctx context.Context, node string, size int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.nextID
	m.nextID++
	m.groups[id] = &memGroup{Group: Group{ID: id, Node: node, State: GroupWriting, Size: size}, created: time.Now()}
	return id, nil
}

func (m *memIndex) Seal(ctx context.Context, group, size int64, entries []IndexEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	g := m.groups[group]
	if g == nil || g.State != GroupWriting {
		return errGroupNotWriting
	}
	g.State, g.Size, g.LiveBytes = GroupSealed, size, size
	for _, e := range entries {
		if r, ok := m.rows[e.Key]; ok {
			r.Touched = max(r.Touched, m.epoch)
			m.rows[e.Key] = r
			continue
		}
		m.rows[e.Key] = IndexRow{IndexEntry: e, Touched: m.epoch}
	}
	return nil
}

func (m *memIndex) Drop(ctx context.Context, key ebs.Digest, loc Location, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.rows[key]; ok && r.Loc == loc {
		delete(m.rows, key)
		m.dropped = append(m.dropped, r.IndexEntry)
	}
	return nil
}

func (m *memIndex) Epoch(ctx context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch, nil
}

func (m *memIndex) Arm(ctx context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
	return m.epoch, nil
}

func (m *memIndex) Scan(ctx context.Context, fn func(IndexRow) error) error {
	m.mu.Lock()
	rows := make([]IndexRow, 0, len(m.rows))
	for _, r := range m.rows {
		rows = append(rows, r)
	}
	m.mu.Unlock()
	slices.SortFunc(rows, func(a, b IndexRow) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	for _, r := range rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *memIndex) DeleteUntouched(ctx context.Context, fence uint64, entries []IndexEntry) ([]IndexEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var deleted []IndexEntry
	for _, e := range entries {
		if r, ok := m.rows[e.Key]; ok && r.Loc == e.Loc && r.Touched < fence {
			delete(m.rows, e.Key)
			deleted = append(deleted, e)
		}
	}
	return deleted, nil
}

func (m *memIndex) SetLiveBytes(ctx context.Context, live map[int64]int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, n := range live {
		if g := m.groups[id]; g != nil {
			g.LiveBytes = n
		}
	}
	return nil
}

func (m *memIndex) Groups(ctx context.Context) ([]Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Group
	for _, g := range m.groups {
		c := g.Group
		c.Age = time.Since(g.created)
		if c.State == GroupRetiring {
			c.Retired = time.Since(g.retired)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Group) int { return int(a.ID - b.ID) })
	return out, nil
}

func (m *memIndex) GroupEntries(ctx context.Context, group int64) ([]IndexEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []IndexEntry
	for _, r := range m.rows {
		if r.Loc.Group == group {
			out = append(out, r.IndexEntry)
		}
	}
	slices.SortFunc(out, func(a, b IndexEntry) int { return int(a.Loc.Off - b.Loc.Off) })
	return out, nil
}

func (m *memIndex) Repoint(ctx context.Context, to, size int64, moves []Move, from []int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[to]
	if g == nil || g.State != GroupWriting {
		return 0, errGroupNotWriting
	}
	g.State, g.Size, g.LiveBytes = GroupSealed, size, size
	moved := 0
	for _, mv := range moves {
		if r, ok := m.rows[mv.Key]; ok && r.Loc == mv.From {
			r.Loc = mv.To
			m.rows[mv.Key] = r
			moved++
		}
	}
	for _, r := range m.rows {
		if slices.Contains(from, r.Loc.Group) {
			return 0, errors.New("memIndex: repoint: a row still names a group being retired")
		}
	}
	for _, id := range from {
		if sg := m.groups[id]; sg != nil && sg.State == GroupSealed {
			sg.State, sg.retired = GroupRetiring, time.Now()
		}
	}
	return moved, nil
}

func (m *memIndex) Retire(ctx context.Context, group int64, from GroupState) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[group]
	if g == nil || g.State != from {
		return false, nil
	}
	for _, r := range m.rows {
		if r.Loc.Group == group {
			return false, nil
		}
	}
	g.State, g.retired = GroupRetiring, time.Now()
	return true, nil
}

func (m *memIndex) Forget(ctx context.Context, group int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.groups[group]; g != nil && g.State == GroupRetiring {
		delete(m.groups, group)
	}
	return nil
}

func (m *memIndex) Contents(ctx context.Context) (Contents, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var c Contents
	for _, g := range m.groups {
		c.add(g.State, 1, g.Size, g.LiveBytes)
	}
	c.Blocks = int64(len(m.rows))
	return c, ctx.Err()
}
