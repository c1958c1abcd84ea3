package packblocks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/vfsdir"
)

// compactCopy is one compaction's output pack and what it moved there.
type compactCopy struct {
	s    *Store
	out  uint32
	pace *pacer // nil: unpaced

	f    vfs.File // nil until the first entry is copied, and once finished
	bw   *bufio.Writer
	w    *pack.Writer
	size int64 // out's size once finished; 0 if never created
	// behind is the output offset up to which writeback was last
	// requested (writeBehind).
	behind int64

	moves     []move              // entries the index named in a source
	salvaged  []move              // entries found after damage that the index named nowhere
	lost      []indexedEntry      // entries the index named in a source that did not read back
	seen      map[ebs.Digest]bool // keys copied to out
	compacted map[uint32]bool     // sources with an entry moved
	copied    int64               // bytes of the entries copied, as written to out

	// rawIn and compressedOut are the raw bytes of the entries compaction
	// compressed and what they took compressed (compact_compress.go).
	rawIn, compressedOut int64

	// What the commit did, for the log.
	nLost, nSalvaged int
	lostKeys         []string
}

// move is an entry copied from one location to another.
type move struct {
	key      ebs.Digest
	from, to location
}

func newCompactCopy(s *Store, out uint32) *compactCopy {
	return &compactCopy{s: s, out: out, seen: make(map[ebs.Digest]bool), compacted: make(map[uint32]bool)}
}

// copyPack is C3 for one source: it scans the whole pack, verifying every
// checksum, and copies each entry that the index names there (idx, by
// offset), whichever version it is in, to out as a version 2 entry with
// its stored bytes unchanged. The move list is the index's, not the
// sweep's: a key the sweep kept because a Put touched it is named here and
// moves too.
//
// Damage (invalid bytes) is skipped as recovery skips it; after it, an
// entry the index names nowhere is salvaged (docs/gc.md §6.4): a
// resynchronised scan may find acknowledged entries behind a bad sector
// that an older recovery, which stopped at the first invalid entry, never
// indexed, and this is the last chance before the pack goes. An entry the
// index names that does not read back intact is lost: its bytes go to
// packs/quarantine, and commit drops it from the index so that its next
// Put stores it again. A newer writer's entry (pack.ErrUnsupported), or a
// read error, stops the compaction: nothing is destroyed that is not
// understood.
func (c *compactCopy) copyPack(ctx context.Context, src compactSource, idx map[int64]indexedEntry) error {
	s := c.s
	f, err := s.fs.Open(s.packPath(src.id))
	if err != nil {
		return fmt.Errorf("packblocks: compact: %w", err)
	}
	defer f.Close()
	var hdr [pack.FileHeaderSize]byte
	n, _ := f.ReadAt(hdr[:], 0)
	_, herr := pack.FileVersion(hdr[:n])
	if herr != nil && !errors.Is(herr, pack.ErrCorrupt) {
		return fmt.Errorf("packblocks: compact %s: %w", packName(src.id), herr)
	}
	var damage []span
	damaged := herr != nil // a pack sealed for its damaged header
	if damaged {
		damage = addSpan(damage, 0, pack.FileHeaderSize)
	}
	sc := pack.NewScanner(f, pack.FileHeaderSize, src.size)
	for {
		for sc.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			e := sc.Entry()
			key := e.Header.Key
			// The scan reads dead entries too: they cost the disk alike.
			if err := c.pace.pace(ctx, e.Header.Size()); err != nil {
				return err
			}
			if ix, ok := idx[e.Offset]; ok && ix.key == key {
				delete(idx, e.Offset)
				if err := c.copy(ctx, e.Header, sc.Data(), ix.loc, false); err != nil {
					return err
				}
				continue
			}
			if !damaged || c.seen[key] {
				continue // a dead copy
			}
			if found, err := has(s.db, key); err != nil {
				return err
			} else if !found {
				loc := location{pack: src.id, off: e.Offset, len: e.Header.Len}
				if err := c.copy(ctx, e.Header, sc.Data(), loc, true); err != nil {
					return err
				}
			}
		}
		err := sc.Err()
		if err == nil {
			break
		}
		if !errors.Is(err, pack.ErrCorrupt) {
			return fmt.Errorf("packblocks: compact %s: %w", packName(src.id), err)
		}
		damaged = true
		from := sc.Offset()
		if !sc.Skip() {
			if err := sc.Err(); !errors.Is(err, pack.ErrCorrupt) {
				return fmt.Errorf("packblocks: compact %s: %w", packName(src.id), err)
			}
			damage = addSpan(damage, from, src.size)
			break
		}
		damage = addSpan(damage, from, sc.Offset())
	}
	if len(idx) == 0 {
		return nil
	}
	for _, ix := range idx {
		c.lost = append(c.lost, ix)
	}
	// Keep a copy of the damaged bytes that held indexed entries: the pack
	// is about to go.
	for _, d := range damage {
		for off := range idx {
			if d.from <= off && off < d.to {
				if err := s.quarantine(f, src.id, d); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// copy appends an entry, read intact from loc, to out.
func (c *compactCopy) copy(ctx context.Context, h pack.EntryHeader, stored []byte, from location, salvage bool) error {
	if c.w == nil {
		f, err := c.s.createPack(c.out)
		if err != nil {
			return fmt.Errorf("packblocks: compact: %w", err)
		}
		c.f, c.bw = f, bufio.NewWriterSize(f, 1<<20)
		if c.w, err = pack.NewWriter(c.bw); err != nil {
			return fmt.Errorf("packblocks: compact: %w", err)
		}
	}
	h, stored, release := c.compressEntry(h, stored)
	off, err := c.w.AppendEntry(h, stored)
	release() // AppendEntry has copied stored into the writer's buffer
	if err != nil {
		return fmt.Errorf("packblocks: compact: %w", err)
	}
	m := move{key: h.Key, from: from, to: location{pack: c.out, off: off, len: h.Len}}
	if salvage {
		c.salvaged = append(c.salvaged, m)
	} else {
		c.moves = append(c.moves, m)
		c.compacted[from.pack] = true
	}
	c.seen[h.Key] = true
	c.copied += pack.EntryHeaderSize + int64(len(stored))
	if err := c.pace.pace(ctx, pack.EntryHeaderSize+int64(len(stored))); err != nil {
		return err
	}
	return c.writeBehind()
}

// writeBehind starts the writeback of what copy wrote, every writeBehind
// bytes, and waits for the writeback it started the time before: the
// output's dirty pages stay under twice writeBehind instead of growing to
// a pack's size for C4's fsync to write at once.
func (c *compactCopy) writeBehind() error {
	off := c.w.Offset() - int64(c.bw.Buffered())
	if off-c.behind < writeBehind {
		return nil
	}
	if _, err := c.f.SyncTo(off); err != nil {
		return fmt.Errorf("packblocks: compact: %s: %w", packName(c.out), err)
	}
	c.behind = off
	return nil
}

// finish is C4: out's data, then its directory entry, are made durable.
func (c *compactCopy) finish() error {
	if c.f == nil {
		return nil // nothing to copy: no output pack
	}
	err := c.bw.Flush()
	if err == nil {
		err = c.s.syncFile(c.f)
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	c.f = nil
	if err != nil {
		return fmt.Errorf("packblocks: compact: %s: %w", packName(c.out), err)
	}
	c.size = c.w.Offset()
	return vfsdir.Sync(c.s.fs, c.s.packDir)
}

// packs returns the number of output packs: 1 or 0.
func (c *compactCopy) packs() int {
	if c.w == nil {
		return 0
	}
	return 1
}

// abort undoes a compaction that failed before C5: out and the intent go.
// What it cannot undo, recovery does at the next Open.
func (c *compactCopy) abort() {
	s := c.s
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
	if c.w != nil {
		if err := s.fs.Remove(s.packPath(c.out)); err != nil {
			s.log.Warn("packblocks: compact: removing the output of a failed compaction", "pack", packName(c.out), "err", err)
			return
		}
		if err := vfsdir.Sync(s.fs, s.packDir); err != nil {
			return
		}
	}
	err := s.runJob(func() error { return s.db.Delete(intentKey(c.out), pebble.Sync) })
	if err != nil {
		s.log.Warn("packblocks: compact: removing the intent of a failed compaction", "pack", packName(c.out), "err", err)
	}
}

// commit is C5, run by the syncer with touchMu held: one synced batch
// repoints each moved key whose index entry still names the copy that was
// moved (a sweep may have deleted it, a Put stored it again elsewhere),
// indexes each salvaged key still not stored, drops each lost key still
// named where it was lost, and retires the sources.
func (c *compactCopy) commit(sources []uint32) error {
	s := c.s
	s.touchMu.Lock()
	defer s.touchMu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	blocks := s.blocks
	for _, m := range c.moves {
		cur, err := lookup(s.db, m.key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !cur.sameEntry(m.from) {
			continue
		}
		if err := b.Set(blockKey(m.key), m.to.encode(), nil); err != nil {
			return err
		}
		if cur.corrupt {
			blocks++ // a Get found it corrupt, but the copy made here checked out
		}
	}
	for _, m := range c.salvaged {
		cur, err := lookup(s.db, m.key)
		if err == nil && !cur.corrupt {
			continue // stored meanwhile
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := b.Set(blockKey(m.key), m.to.encode(), nil); err != nil {
			return err
		}
		blocks++
		c.nSalvaged++
	}
	now := time.Now()
	for _, l := range c.lost {
		cur, err := lookup(s.db, l.key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !cur.sameEntry(l.loc) {
			continue
		}
		if err := b.Delete(blockKey(l.key), nil); err != nil {
			return err
		}
		if err := b.Set(quarantineKey(l.key), encodeQuarantine(cur, now, "compaction found the copy damaged"), nil); err != nil {
			return err
		}
		if !cur.corrupt {
			blocks--
		}
		c.nLost++
		if len(c.lostKeys) < 10 {
			c.lostKeys = append(c.lostKeys, l.key.String())
		}
	}
	if c.w != nil {
		if err := b.Set(watermarkKey(c.out), u64(uint64(c.size)), nil); err != nil {
			return err
		}
		if err := b.Set(sealedKey(c.out), nil, nil); err != nil {
			return err
		}
		if s.compress.compact != nil {
			if err := b.Set(compressedKey(c.out), nil, nil); err != nil {
				return err
			}
		}
	}
	for _, id := range sources {
		for _, err := range []error{b.Delete(watermarkKey(id), nil), b.Delete(sealedKey(id), nil), b.Delete(compressedKey(id), nil), b.Set(retiredKey(id), nil, nil)} {
			if err != nil {
				return err
			}
		}
	}
	if err := b.Set(intentKey(c.out), encodeIntent(intentDone, nil), nil); err != nil {
		return err
	}
	if err := b.Set(keyCount, u64(blocks), nil); err != nil {
		return err
	}
	// Synced: the sources are unlinked next. Pebble's log is one sequence,
	// so this also makes durable every batch committed before without sync
	// (the sweep's deletes), which no unlinked pack may outlive.
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	s.setBlocks(blocks)
	return nil
}

// logDamage logs, at Error level, the blocks the compaction dropped as
// damaged and those it salvaged.
func (c *compactCopy) logDamage() {
	if c.nLost > 0 {
		c.s.log.Error("packblocks: compaction found stored blocks damaged and dropped them from the index; "+
			"the damaged bytes are in packs/quarantine, and the next Put of each block stores it again",
			"blocks", c.nLost, "keys", c.lostKeys, "output", packName(c.out),
			"action", "check the disk for errors (kernel log, SMART); a snapshot that refers to a lost block "+
				"fails to read it until the block is written again")
	}
	if c.nSalvaged > 0 {
		c.s.log.Error("packblocks: compaction salvaged blocks found after damaged bytes in a pack that the index did not name",
			"blocks", c.nSalvaged, "output", packName(c.out),
			"action", "none: they are readable again; check the disk for errors (kernel log, SMART)")
	}
}
