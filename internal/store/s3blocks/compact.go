package s3blocks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
)

// Compact implements store.Collectable (docs/gc.md §9). One call:
//   - retires orphans: groups still writing after WritingTTL, whose node
//     died between upload and seal (they have no index rows: rows and the
//     sealed state commit together);
//   - retires sealed groups that no row names any more;
//   - copies the entries the index still names in the sparsest sealed
//     groups (live fraction below opts.MinLive, by the last Sweep) into
//     new groups: upload, then one transaction repoints each key by
//     compare-and-set, seals the new group and retires the old ones;
//   - deletes the objects of groups retired at least ObjectGrace ago, and
//     then their rows.
//
// A key stays readable throughout: until the repoint commits the index
// names the old object, which outlives it by the grace; a Get that still
// misses it looks the key up again (see Get). A crash at any step leaves
// a group writing (an orphan, retired later) or retiring (deleted later),
// never an index row naming a deleted object.
func (s *Store) Compact(ctx context.Context, opts store.CompactOptions) (store.CompactReport, error) {
	var rep store.CompactReport
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return rep, fmt.Errorf("s3blocks: compact: %w", store.ErrClosed)
	}
	s.gc.run.Lock()
	defer s.gc.run.Unlock()
	defer s.contents.invalidate()
	minLive := cmp.Or(opts.MinLive, 0.5)
	groups, err := s.index.Groups(ctx)
	if err != nil {
		return rep, fmt.Errorf("s3blocks: compact: %w", err)
	}
	var sparse []Group
	for _, g := range groups {
		switch {
		case g.State == GroupWriting && g.Age > s.opts.WritingTTL:
			if _, err := s.index.Retire(ctx, g.ID, GroupWriting); err != nil {
				return rep, fmt.Errorf("s3blocks: compact: retire orphan group %d: %w", g.ID, err)
			}
		case g.State == GroupSealed && g.LiveBytes == 0:
			ok, err := s.index.Retire(ctx, g.ID, GroupSealed)
			if err != nil {
				return rep, fmt.Errorf("s3blocks: compact: retire group %d: %w", g.ID, err)
			}
			if !ok { // rows the last sweep did not count: copy them
				sparse = append(sparse, g)
			}
		case g.State == GroupSealed && float64(g.LiveBytes) < minLive*float64(g.Size):
			sparse = append(sparse, g)
		}
	}
	slices.SortFunc(sparse, func(a, b Group) int {
		return cmp.Compare(float64(a.LiveBytes)/float64(a.Size), float64(b.LiveBytes)/float64(b.Size))
	})
	if err := s.compactGroups(ctx, sparse, opts.MaxBytes, &rep); err != nil {
		return rep, err
	}
	if err := s.removeRetired(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// compactGroups copies the live entries of sources, in order, into new
// groups of up to GroupSize, until maxBytes (0: no bound) are copied.
func (s *Store) compactGroups(ctx context.Context, sources []Group, maxBytes int64, rep *store.CompactReport) error {
	var out compactOut
	flush := func() error {
		if len(out.from) == 0 {
			return nil
		}
		err := s.writeCompacted(ctx, &out, rep)
		out = compactOut{}
		return err
	}
	for _, g := range sources {
		if maxBytes > 0 && rep.BytesCopied+out.copied >= maxBytes {
			break
		}
		if int64(len(out.buf))+g.LiveBytes > s.opts.GroupSize && len(out.from) > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		if err := s.copyLive(ctx, g, &out); err != nil {
			return err
		}
	}
	return flush()
}

// compactOut is a group being written by compaction.
type compactOut struct {
	buf    []byte
	moves  []Move
	from   []int64
	copied int64
}

// copyLive appends to out the entries of group g that the index still
// names, read with one GET of the whole object and verified. A damaged
// entry is dropped from the index (it stops counting as stored), not
// copied.
func (s *Store) copyLive(ctx context.Context, g Group, out *compactOut) error {
	entries, err := s.index.GroupEntries(ctx, g.ID)
	if err != nil {
		return fmt.Errorf("s3blocks: compact group %d: %w", g.ID, err)
	}
	out.from = append(out.from, g.ID)
	if len(entries) == 0 {
		return nil
	}
	obj, err := s.objs.readRange(ctx, s.groupName(g.ID), 0, -1, nil)
	if err != nil && !errors.Is(err, errNoObject) {
		return fmt.Errorf("s3blocks: compact group %d: %w", g.ID, err)
	}
	if out.buf == nil {
		out.buf = pack.AppendFileHeader(nil)
	}
	// Entries are copied as they are stored, compressed or not: compaction
	// does not compress (Options.Compression). Each is decoded first, into
	// one reused buffer, so that a damaged frame is dropped, not copied.
	bp, release := s.compress.buffer()
	scratch := *bp
	defer func() { release(scratch) }()
	for _, e := range entries {
		var cerr error
		if err != nil {
			cerr = err // the object is gone
		} else if cerr = checkEntry(obj, e, &scratch); cerr == nil {
			n := entrySize(e.Loc)
			to := Location{Off: int64(len(out.buf)), StoredLen: e.Loc.StoredLen, RawLen: e.Loc.RawLen}
			out.buf = append(out.buf, obj[e.Loc.Off:e.Loc.Off+n]...)
			out.moves = append(out.moves, Move{Key: e.Key, From: e.Loc, To: to})
			out.copied += n
			continue
		}
		if !errors.Is(cerr, pack.ErrCorrupt) && !errors.Is(cerr, errNoObject) {
			return fmt.Errorf("s3blocks: compact group %d: %w", g.ID, cerr)
		}
		s.log.Error("s3blocks: compaction found a stored block missing or damaged; it no longer counts as stored, and its next Put stores it again",
			"key", e.Key.String(), "object", s.groupName(g.ID), "offset", e.Loc.Off, "err", cerr)
		if err := s.index.Drop(ctx, e.Key, e.Loc, cerr.Error()); err != nil {
			return fmt.Errorf("s3blocks: compact group %d: %w", g.ID, err)
		}
	}
	return nil
}

// checkEntry verifies e's entry in obj, the bytes of its group object:
// intact, key's, as long as the index says, and decoding to its raw bytes
// (into *scratch, which it may grow).
func checkEntry(obj []byte, e IndexEntry, scratch *[]byte) error {
	out, h, err := pack.ReadEntryHeader(rangeReader{obj, 0}, e.Loc.Off, e.Key, (*scratch)[:0])
	*scratch = out[:0]
	if err == nil && (h.Len != e.Loc.StoredLen || h.RawLen != e.Loc.RawLen) {
		err = fmt.Errorf("%w: the entry holds %d bytes (%d raw), the index says %d (%d raw)",
			pack.ErrCorrupt, h.Len, h.RawLen, e.Loc.StoredLen, e.Loc.RawLen)
	}
	return err
}

// writeCompacted uploads out as a new group and repoints its keys to it,
// retiring its sources, in one transaction.
func (s *Store) writeCompacted(ctx context.Context, out *compactOut, rep *store.CompactReport) error {
	if len(out.moves) == 0 {
		for _, id := range out.from {
			if _, err := s.index.Retire(ctx, id, GroupSealed); err != nil {
				return fmt.Errorf("s3blocks: compact: retire group %d: %w", id, err)
			}
		}
		return nil
	}
	id, err := s.index.NewGroup(ctx, s.opts.Node, int64(len(out.buf)))
	if err != nil {
		return fmt.Errorf("s3blocks: compact: %w", err)
	}
	for i := range out.moves {
		out.moves[i].To.Group = id
	}
	if err := s.objs.create(ctx, s.groupName(id), out.buf, s.exclusive); err != nil {
		return fmt.Errorf("s3blocks: compact: upload group %d: %w", id, err)
	}
	if _, err := s.index.Repoint(ctx, id, int64(len(out.buf)), out.moves, out.from); err != nil {
		return fmt.Errorf("s3blocks: compact into group %d: %w", id, err)
	}
	rep.PacksCompacted += len(out.from)
	rep.BytesCopied += out.copied
	rep.BytesReclaimed -= int64(len(out.buf))
	return nil
}

// removeRetired deletes the objects of groups retired at least
// ObjectGrace ago, then their rows: the row goes last, so that a crash
// between the two leaves a row whose object the next call deletes again.
func (s *Store) removeRetired(ctx context.Context, rep *store.CompactReport) error {
	groups, err := s.index.Groups(ctx)
	if err != nil {
		return fmt.Errorf("s3blocks: compact: %w", err)
	}
	for _, g := range groups {
		if g.State != GroupRetiring || g.Retired < s.opts.ObjectGrace {
			continue
		}
		if err := s.objs.remove(ctx, s.groupName(g.ID)); err != nil {
			return fmt.Errorf("s3blocks: compact: %w", err)
		}
		if err := s.index.Forget(ctx, g.ID); err != nil {
			return fmt.Errorf("s3blocks: compact: forget group %d: %w", g.ID, err)
		}
		rep.PacksRemoved++
		rep.BytesReclaimed += g.Size
	}
	return nil
}
