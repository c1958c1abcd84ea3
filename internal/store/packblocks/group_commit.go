package packblocks

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/vfsdir"
)

// appendEntry writes an entry the caller encoded (h describes stored: raw
// or compressed, compress.go) to the active pack and hands it to the
// syncer, which settles call once the entry is durable and indexed; the
// index records h.Len, the bytes the entry takes. The write system calls
// run from stored itself, under the append lock; h's checksum was computed
// before it.
func (s *Store) appendEntry(h pack.EntryHeader, stored []byte, call *putCall, since time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := h.Size()
	p, err := s.packFor(size)
	if err != nil {
		return fmt.Errorf("packblocks: put %v: %w", h.Key, err)
	}
	off, err := p.w.AppendEntry(h, stored)
	if err != nil {
		// The pack now ends in a torn entry, which must stay its last:
		// its header may be whole, and recovery trusts the length of a
		// header that checks out, skipping whatever it covers. Its
		// earlier entries are synced by the groups that hold them.
		s.retireLocked(p)
		return fmt.Errorf("packblocks: put %v: %w", h.Key, err)
	}
	s.pending.add(p, p.w.Offset(), groupEntry{entryAppended, h.Key, location{pack: p.id, off: off, len: h.Len}, call}, since)
	s.noteAppend(since)
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
	f, err := s.createPack(id)
	if err != nil {
		return nil, err
	}
	w, err := pack.NewWriter(io.NewOffsetWriter(f, 0))
	if err != nil {
		f.Close()
		s.fs.Remove(s.packPath(id))
		return nil, fmt.Errorf("create pack %s: %w", s.packPath(id), err)
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

// createPack creates the file of pack id, which must not exist:
// vfs.FS.Create would replace it.
func (s *Store) createPack(id uint32) (vfs.File, error) {
	path := s.packPath(id)
	if _, err := s.fs.Stat(path); err == nil {
		return nil, fmt.Errorf("create pack %s: %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("create pack: %w", err)
	}
	f, err := s.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, fmt.Errorf("create pack: %w", err)
	}
	if err := makePrivate(f); err != nil {
		f.Close()
		s.fs.Remove(path)
		return nil, fmt.Errorf("create pack: %w", err)
	}
	return f, nil
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

// syncJob is an index change that runs in the syncer: see runJob.
type syncJob struct {
	fn   func() error
	done chan error // receives fn's result; capacity 1
}

// runJob runs fn in the syncer and returns its error. The syncer is the
// only writer of block locations, watermarks and the block count while
// the store is open; sweep and compaction change them through jobs, between
// two group commits, so that every batch the syncer builds sees the index
// as the last one left it. The caller holds closeMu shared, so the syncer
// is running.
func (s *Store) runJob(fn func() error) error {
	j := syncJob{fn: fn, done: make(chan error, 1)}
	select {
	case s.jobs <- j:
	case <-s.syncerDone:
		return fmt.Errorf("packblocks: %w", store.ErrClosed)
	}
	return <-j.done
}

// syncLoop is the syncer: it commits groups one at a time, as long as
// there are calls waiting, and runs jobs, until Close.
func (s *Store) syncLoop() {
	defer close(s.syncerDone)
	for {
		select {
		case <-s.kick:
			s.syncPending()
		case j := <-s.jobs:
			j.done <- j.fn()
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
	if err == nil {
		err = s.index(g)
	}
	if len(g.packs) > 0 && err == nil {
		s.dataLatency = time.Since(g.started)
	} else if len(g.packs) == 0 && len(g.entries) > 0 {
		s.pad(g.started)
	}
	for _, p := range g.retired {
		p.f.Close() // synced above or by an earlier group; close cannot lose data
	}
	for _, e := range g.entries {
		switch {
		case e.kind == entryCorrupt && err == nil:
			// The claim was Get's: the Puts that waited on it try again.
			s.settle(e.key, e.call, errCopyDropped)
		default:
			s.settle(e.key, e.call, err)
		}
	}
	return true
}

// pad makes a group that wrote nothing, started at start, last as long as
// the last group that wrote data did, from its first Put's decision to
// append to the end of its indexing: dedup hits then take as long as
// writes even on an idle store (see doc.go, Timing). Close cuts it short.
func (s *Store) pad(start time.Time) {
	d := s.dataLatency - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.quit:
	}
}

// syncFiles makes g's appends durable: the pack directory when g created
// a pack, then every pack g wrote to. A group that wrote nothing (dedup
// hits, corrupt copies) still syncs the active pack, or else the pack
// directory: its calls then wait for a sync like any (see doc.go, Timing).
func (s *Store) syncFiles(g *syncGroup) error {
	var err error
	if g.syncDir {
		err = vfsdir.Sync(s.fs, s.packDir)
	}
	packs := g.packs
	if len(packs) == 0 && len(g.entries) > 0 && !g.syncDir {
		s.mu.Lock()
		p := s.active // closed only by this goroutine, once retired
		s.mu.Unlock()
		if p != nil {
			packs = []groupPack{{p: p}}
		} else {
			err = vfsdir.Sync(s.fs, s.packDir)
		}
	}
	for _, gp := range packs {
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
	for _, gp := range packs {
		if gp.p.broken == nil {
			gp.p.broken = err
		}
		if s.active == gp.p {
			s.retireLocked(gp.p)
		}
	}
	return err
}

// index records g's appended entries and corrupt copies, the packs' new
// watermarks and the block count in one batch. The batch is not synced
// when it only points at data that is durable already: if it is lost, Open
// finds the entries again past the old watermarks. A batch that marks a
// copy corrupt is synced: otherwise a crash could bring the corrupt copy
// back while the copy that replaced it, found again by the scan past its
// watermark, would lose to it ("the first copy indexed wins").
//
// While a collection is armed, every key appended is touched here, in the
// goroutine that runs the sweep's jobs: a key appended after the mark's
// view was taken is in no live set, and without the touch a sweep whose
// scan reaches it later would delete it (docs/gc.md §3.5).
func (s *Store) index(g *syncGroup) error {
	b := s.db.NewBatch()
	defer b.Close()
	blocks := s.blocks
	var changed, marked bool
	for _, e := range g.entries {
		switch e.kind {
		case entryAppended:
			// Counted unless a valid copy is indexed already, as one that
			// a compaction salvaged meanwhile would be.
			prev, err := lookup(s.db, e.key)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("packblocks: index: %w", err)
			}
			if err != nil || prev.corrupt {
				blocks++
			}
			if err := b.Set(blockKey(e.key), e.loc.encode(), nil); err != nil {
				return fmt.Errorf("packblocks: index: %w", err)
			}
			s.touch(e.key)
			changed = true
		case entryCorrupt:
			// Only the copy Get read, and only once: a sweep may have
			// deleted it since, or a compaction moved it.
			cur, err := lookup(s.db, e.key)
			if errors.Is(err, store.ErrNotFound) || err == nil && (cur.corrupt || !cur.sameEntry(e.loc)) {
				continue
			}
			if err != nil {
				return fmt.Errorf("packblocks: index: %w", err)
			}
			if err := b.Set(blockKey(e.key), e.loc.encodeCorrupt(), nil); err != nil {
				return fmt.Errorf("packblocks: index: %w", err)
			}
			s.log.Error("packblocks: a stored block failed its checksum; it no longer counts as stored, and its next Put stores it again",
				"key", e.key.String(), "pack", packName(e.loc.pack), "offset", e.loc.off,
				"action", "check the disk for errors (kernel log, SMART)")
			blocks--
			changed, marked = true, true
		}
	}
	if !changed {
		return nil
	}
	for _, gp := range g.packs {
		if err := b.Set(watermarkKey(gp.p.id), u64(uint64(gp.end)), nil); err != nil {
			return fmt.Errorf("packblocks: index: %w", err)
		}
	}
	if err := b.Set(keyCount, u64(blocks), nil); err != nil {
		return fmt.Errorf("packblocks: index: %w", err)
	}
	opt := pebble.NoSync
	if marked {
		opt = pebble.Sync
	}
	if err := b.Commit(opt); err != nil {
		return fmt.Errorf("packblocks: index: %w", err)
	}
	s.setBlocks(blocks)
	return nil
}

// setBlocks sets the number of indexed blocks; only the syncer calls it
// once Open returned.
func (s *Store) setBlocks(n uint64) {
	s.blocks = n
	s.stats.blocks.Store(int64(n))
}
