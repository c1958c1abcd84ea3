package packblocks

import (
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// syncGroup is the set of appends one sync makes durable. Appends join the
// pending group under the append lock; the syncer takes the whole group,
// puts a fresh one in its place, and syncs, so the next group fills while
// a sync is in flight.
type syncGroup struct {
	entries []groupEntry
	packs   []groupPack   // packs written in this group, in append order
	retired []*activePack // packs to close once this group is synced
	syncDir bool          // a pack was created: its directory entry must be synced
}

type groupEntry struct {
	key  ebs.Digest
	loc  location
	call *putCall
}

// groupPack is a pack written in a group and its offset after the group's
// last entry in it: the pack's watermark once the group is indexed.
type groupPack struct {
	p   *activePack
	end int64
}

func newSyncGroup() *syncGroup { return &syncGroup{} }

func (g *syncGroup) empty() bool {
	return len(g.entries) == 0 && len(g.retired) == 0 && !g.syncDir
}

// add records an entry appended to p, which now ends at end.
func (g *syncGroup) add(p *activePack, end int64, e groupEntry) {
	g.entries = append(g.entries, e)
	if n := len(g.packs); n > 0 && g.packs[n-1].p == p {
		g.packs[n-1].end = end
		return
	}
	g.packs = append(g.packs, groupPack{p, end})
}

// append writes key's entry to the active pack and hands it to the syncer,
// which settles call once the entry is durable and indexed. The write
// system calls run from data itself, under the append lock; the checksum
// is computed before it.
func (s *Store) append(key ebs.Digest, data []byte, call *putCall) error {
	h := pack.NewEntryHeader(key, data) // checksum before taking the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	size := h.Size()
	p, err := s.packFor(size)
	if err != nil {
		return fmt.Errorf("packblocks: put %v: %w", key, err)
	}
	off, err := p.w.AppendEntry(h, data)
	if err != nil {
		// The pack now ends in a torn entry, which must stay its last:
		// Open cuts a pack at its first invalid entry. Its earlier entries
		// are synced by the groups that hold them.
		s.retireLocked(p)
		return fmt.Errorf("packblocks: put %v: %w", key, err)
	}
	s.pending.add(p, p.w.Offset(), groupEntry{key, location{p.id, off, uint32(len(data))}, call})
	s.stats.bytes.Add(size)
	s.kickSyncer()
	return nil
}

// packFor returns the pack to append size bytes to, starting a new one
// when the active pack is full. A pack holds at least one entry, however
// large.
func (s *Store) packFor(size int64) (*activePack, error) {
	if p := s.active; p != nil {
		if off := p.w.Offset(); off+size <= s.opts.PackSize || off == pack.FileHeaderSize {
			return p, nil
		}
		s.retireLocked(p)
	}
	id := s.nextID
	s.nextID++ // even on failure: never reuse the name of a file we may have created
	path := s.packPath(id)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create pack: %w", err)
	}
	w, err := pack.NewWriter(f)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create pack %s: %w", path, err)
	}
	p := &activePack{id: id, f: f, w: w}
	s.active = p
	// The first entry of p joins this same group, whose sync then covers
	// both the file header and the directory entry.
	s.pending.syncDir = true
	s.stats.packs.Add(1)
	s.stats.bytes.Add(pack.FileHeaderSize)
	return p, nil
}

// retireLocked stops appends to p and has its write handle closed once
// everything written to it is synced. s.mu must be held.
func (s *Store) retireLocked(p *activePack) {
	if s.active == p {
		s.active = nil
	}
	s.pending.retired = append(s.pending.retired, p)
	s.kickSyncer()
}

func (s *Store) kickSyncer() {
	select {
	case s.kick <- struct{}{}:
	default: // a kick is already pending
	}
}

// syncLoop is the syncer: it commits groups one at a time, as long as
// there are appends, until Close.
func (s *Store) syncLoop() {
	defer close(s.syncerDone)
	for {
		select {
		case <-s.kick:
			s.syncPending()
		case <-s.quit:
			for s.syncPending() {
			}
			return
		}
	}
}

// syncPending commits the pending group and reports whether there was one.
func (s *Store) syncPending() bool {
	s.mu.Lock()
	g := s.pending
	if g.empty() {
		s.mu.Unlock()
		return false
	}
	s.pending = newSyncGroup()
	s.mu.Unlock()

	err := s.syncFiles(g)
	if err == nil && len(g.entries) > 0 {
		err = s.index(g)
	}
	for _, p := range g.retired {
		p.f.Close() // synced above or by an earlier group; close cannot lose data
	}
	for _, e := range g.entries {
		s.settle(e.key, e.call, err)
	}
	return true
}

// syncFiles makes g's appends durable: the pack directory when g created
// a pack, then every pack g wrote to.
func (s *Store) syncFiles(g *syncGroup) error {
	var err error
	if g.syncDir {
		err = syncDir(s.packDir)
	}
	for _, gp := range g.packs {
		if err != nil {
			break
		}
		s.mu.Lock()
		err = gp.p.broken
		s.mu.Unlock()
		if err == nil {
			err = s.syncFile(gp.p.f)
		}
	}
	if err == nil {
		return nil
	}
	err = fmt.Errorf("packblocks: sync: %w", err)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, gp := range g.packs {
		if gp.p.broken == nil {
			gp.p.broken = err
		}
		if s.active == gp.p {
			s.retireLocked(gp.p)
		}
	}
	return err
}

// index records g's entries and the packs' new watermarks in one batch.
// The batch is not synced: it only points at data that is durable already,
// and if it is lost, Open finds the entries again past the old watermarks.
func (s *Store) index(g *syncGroup) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, e := range g.entries {
		if err := b.Set(blockKey(e.key), e.loc.encode(), nil); err != nil {
			return fmt.Errorf("packblocks: index: %w", err)
		}
	}
	for _, gp := range g.packs {
		if err := b.Set(watermarkKey(gp.p.id), u64(uint64(gp.end)), nil); err != nil {
			return fmt.Errorf("packblocks: index: %w", err)
		}
	}
	blocks := s.blocks + uint64(len(g.entries))
	if err := b.Set(keyCount, u64(blocks), nil); err != nil {
		return fmt.Errorf("packblocks: index: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("packblocks: index: %w", err)
	}
	s.blocks = blocks
	s.stats.blocks.Store(int64(blocks))
	return nil
}
