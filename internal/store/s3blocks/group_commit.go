package s3blocks

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// A group is the unit of upload: the blocks of the writers that arrived
// while the previous uploads were in flight, as one v2 pack (file header
// and entries), with the dedup hits that ride along. One PUT and one
// index transaction settle all of its writers: S3 takes a few hundred
// PUTs per second whatever their size, so blocks must share them
// (issue #13, item 3).
type group struct {
	started time.Time    // when its first writer joined
	buf     []byte       // the pack: file header and entries
	entries []IndexEntry // the entries in buf, Group not yet set
	calls   []groupCall  // the Puts it settles, dedup hits included
}

type groupCall struct {
	key  ebs.Digest
	call *putCall
}

func newGroup() *group { return &group{} }

func (g *group) empty() bool { return len(g.calls) == 0 }

// atomicInt is a counter.
type atomicInt = atomic.Int64

// join adds a Put to the open group: its entry, or for a dedup hit (found)
// only its call. The entry is copied into the group, so Put does not
// retain data. It starts an upload if a slot is free.
//
// A new block is compressed (Options.Compression) and checksummed before
// s.mu is taken, so that Puts encode in parallel; a dedup hit is never
// compressed for nothing. Compressing lengthens a new block's Put by
// about a millisecond that a dedup hit settled with the same group does
// not spend: far below what the upload and seal take, and their spread.
func (s *Store) join(key ebs.Digest, data []byte, found bool, call *putCall) {
	var h pack.EntryHeader
	stored := data
	if !found {
		var release func()
		h, stored, release = s.compress.encode(key, data)
		defer release() // after s.mu's unlock: stored is copied into the group by then
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.pending
	if !found {
		size := h.Size()
		if len(g.entries) > 0 && int64(len(g.buf))+size > s.opts.GroupSize {
			s.ready = append(s.ready, g)
			g = newGroup()
			s.pending = g
		}
		if g.buf == nil {
			g.buf = pack.AppendFileHeader(s.groupBuffer())
		}
		off := int64(len(g.buf))
		g.buf = h.Append(g.buf)
		g.buf = append(g.buf, stored...)
		g.entries = append(g.entries, IndexEntry{Key: key, Loc: Location{Off: off, StoredLen: h.Len, RawLen: h.RawLen}})
	}
	if g.empty() {
		g.started = time.Now()
	}
	g.calls = append(g.calls, groupCall{key, call})
	s.startUploadsLocked(false)
}

// startUploadsLocked starts uploads while slots are free: full groups
// first, then the open one, unless it is to wait MaxDelay for more
// writers (force: not any longer). s.mu must be held.
func (s *Store) startUploadsLocked(force bool) {
	for s.uploading < s.opts.MaxUploads {
		var g *group
		switch {
		case len(s.ready) > 0:
			g = s.ready[0]
			s.ready[0] = nil
			s.ready = s.ready[1:]
		case s.pending.empty():
			return
		default:
			if wait := s.opts.MaxDelay - time.Since(s.pending.started); wait > 0 && !force {
				if !s.lingering {
					s.lingering = true
					time.AfterFunc(wait, func() {
						s.mu.Lock()
						s.lingering = false
						s.startUploadsLocked(true)
						s.mu.Unlock()
					})
				}
				return
			}
			g = s.pending
			s.pending = newGroup()
		}
		s.uploading++
		s.flushes.Add(1)
		go s.upload(g)
	}
}

// upload flushes g, starts the next upload, and settles g's Puts.
func (s *Store) upload(g *group) {
	defer s.flushes.Done()
	err := s.flush(g)
	s.mu.Lock()
	s.uploading--
	s.startUploadsLocked(false)
	s.mu.Unlock()
	for _, c := range g.calls {
		s.settle(c.key, c.call, err)
	}
	if cap(g.buf) >= int(s.opts.GroupSize) {
		s.bufs.Put(&g.buf)
	}
}

// groupBuffer returns an empty buffer with room for a full group, reused
// from an earlier group when there is one: allocating (and zeroing) tens
// of MiB per upload costs more CPU than the upload's own copy.
func (s *Store) groupBuffer() []byte {
	if b, ok := s.bufs.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, s.opts.GroupSize+groupSlack)
}

// groupSlack is room past GroupSize in a group's buffer, so that the
// entry that fills a group does not grow it.
const groupSlack = pack.EntryHeaderSize + 1<<20

// flush makes g durable: a row for the group (state writing), the
// object, then its index rows and its sealed state in one transaction.
// Its Puts are acknowledged only after that commit, so a 201 means the
// block is in S3 and indexed in the database. A failure at any step
// indexes nothing: the object, if uploaded, belongs to a group that stays
// writing, which Compact retires as an orphan after WritingTTL.
func (s *Store) flush(g *group) error {
	if len(g.entries) == 0 {
		s.pad(g.started)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.FlushTimeout)
	defer cancel()
	id, err := s.index.NewGroup(ctx, s.opts.Node, int64(len(g.buf)))
	if err != nil {
		return fmt.Errorf("s3blocks: new group: %w", err)
	}
	for i := range g.entries {
		g.entries[i].Loc.Group = id
	}
	if err := s.objs.create(ctx, s.groupName(id), g.buf, s.exclusive); err != nil {
		return fmt.Errorf("s3blocks: upload group %d: %w", id, err)
	}
	if err := s.index.Seal(ctx, id, int64(len(g.buf)), g.entries); err != nil {
		return fmt.Errorf("s3blocks: seal group %d: %w", id, err)
	}
	var raw int64
	for _, e := range g.entries {
		raw += int64(e.Loc.RawLen)
	}
	s.blockBytes.Add(raw)
	s.blocksStored.Add(int64(len(g.entries)))
	s.groupsSealed.Add(1)
	s.mu.Lock()
	s.dataLatency = time.Since(g.started)
	s.mu.Unlock()
	return nil
}

// pad makes a group of dedup hits only, started at start, last as long as
// the last group that uploaded data did.
func (s *Store) pad(start time.Time) {
	s.mu.Lock()
	d := s.dataLatency - time.Since(start)
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
}
