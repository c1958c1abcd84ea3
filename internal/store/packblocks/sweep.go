package packblocks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
)

// defaultSweepBatch is how many candidates one sweep job re-checks and
// deletes: the syncer holds touchMu for that long, which Puts' index
// checks wait for.
const defaultSweepBatch = 1024

// sweepResult is what a Sweep measured, for Compact to plan from.
type sweepResult struct {
	packs map[uint32]int64     // every pack when the sweep started, and its size then
	live  map[uint32]*packLive // the entries left in each pack
}

// packLive counts the entries left in a pack.
type packLive struct {
	entries int64
	raw     int64 // their stored lengths (location.len)
}

func (r *sweepResult) keep(l location) {
	pl := r.live[l.pack]
	if pl == nil {
		pl = &packLive{}
		r.live[l.pack] = pl
	}
	pl.entries++
	pl.raw += int64(l.len)
}

// bytes returns the bytes of pack id's entries left, with headers of
// hdrSize bytes.
func (r *sweepResult) bytes(id uint32, hdrSize int64) int64 {
	pl := r.live[id]
	if pl == nil {
		return 0
	}
	return pl.raw + pl.entries*hdrSize
}

// candidate is an index entry the sweep judged dead when it scanned it.
type candidate struct {
	key ebs.Digest
	loc location
}

// Sweep implements store.Collectable (docs/gc.md §4). It scans the block
// index in key order, batch by batch, outside any lock, and keeps the
// entries live does not hold; for each batch a job in the syncer then,
// with touchMu held exclusively, skips the keys touched since Arm and the
// keys whose location changed since the scan, and deletes the rest in one
// batch committed without sync: a delete lost in a crash only brings a dead
// key back (a leak until the next collection), and compaction's synced
// commit makes every earlier delete durable before any pack goes. Each
// batch scans with a fresh iterator, so that keys indexed meanwhile are
// scanned too (and kept: the syncer touches every key it indexes while
// armed).
//
// A key live holds but whose copy was found corrupt is kept (it is not
// counted as live bytes: compaction cannot copy it).
func (s *Store) Sweep(ctx context.Context, live store.LiveSet) (store.SweepReport, error) {
	var rep store.SweepReport
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if err := s.writable("sweep"); err != nil {
		return rep, err
	}
	touched := s.touched.Load()
	if touched == nil {
		return rep, errors.New("packblocks: sweep: the store is not armed: call Arm first")
	}
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	start := time.Now()
	sizes, err := s.packSizes()
	if err != nil {
		return rep, err
	}
	res := &sweepResult{packs: sizes, live: make(map[uint32]*packLive)}
	for _, size := range sizes {
		rep.PackBytes += size
	}
	cursor := []byte{prefixBlock}
	for batch := 0; cursor != nil; batch++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var cands []candidate
		cands, cursor, err = s.scanBatch(cursor, live, res, &rep)
		if err != nil {
			return rep, err
		}
		if h := s.hooks.sweepBeforeJob; h != nil {
			h(batch)
		}
		if len(cands) == 0 {
			continue
		}
		if err := s.runJob(func() error { return s.sweepJob(touched, cands, res, &rep) }); err != nil {
			return rep, err
		}
	}
	for id := range res.live {
		rep.LiveBytes += res.bytes(id, pack.EntryHeaderSize)
	}
	s.lastSweep = res
	s.log.Info("packblocks: sweep", "scanned", rep.Scanned, "swept", rep.Swept, "swept_bytes", rep.SweptBytes,
		"kept_touched", rep.Kept, "live_bytes", rep.LiveBytes, "pack_bytes", rep.PackBytes,
		"duration", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// scanBatch scans the block index from cursor on until it has a batch of
// candidates, counting the entries it keeps in res and rep. It returns the
// cursor to go on from, nil at the end.
func (s *Store) scanBatch(cursor []byte, live store.LiveSet, res *sweepResult, rep *store.SweepReport) ([]candidate, []byte, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: cursor, UpperBound: []byte{prefixBlock + 1}})
	if err != nil {
		return nil, nil, fmt.Errorf("packblocks: sweep: %w", err)
	}
	var cands []candidate
	var next []byte
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 1+len(ebs.Digest{}) {
			it.Close()
			return nil, nil, fmt.Errorf("packblocks: sweep: index key %x: %w", k, store.ErrCorrupt)
		}
		key := ebs.Digest(k[1:])
		loc, err := decodeLocation(it.Value())
		if err != nil {
			it.Close()
			return nil, nil, err
		}
		rep.Scanned++
		switch {
		case !live.Has(key):
			cands = append(cands, candidate{key, loc})
		case !loc.corrupt:
			res.keep(loc)
		}
		if len(cands) == s.sweepBatch {
			next = append(bytes.Clone(k), 0) // the first key after k
			break
		}
	}
	if err := it.Close(); err != nil {
		return nil, nil, fmt.Errorf("packblocks: sweep: %w", err)
	}
	return cands, next, nil
}

// sweepJob deletes the candidates that are still dead: not touched since
// Arm and still at the location scanned (I8). It runs in the syncer, with
// touchMu held so that no Put checks the index meanwhile.
func (s *Store) sweepJob(touched *touchSet, cands []candidate, res *sweepResult, rep *store.SweepReport) error {
	s.touchMu.Lock()
	defer s.touchMu.Unlock()
	if s.touched.Load() != touched {
		return errors.New("packblocks: sweep: the store was disarmed during the sweep")
	}
	b := s.db.NewBatch()
	defer b.Close()
	blocks := s.blocks
	var swept, sweptBytes int64
	for _, c := range cands {
		if touched.has(c.key) {
			rep.Kept++
			if !c.loc.corrupt {
				res.keep(c.loc)
			}
			continue
		}
		cur, err := lookup(s.db, c.key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !cur.sameEntry(c.loc) {
			// Stored again elsewhere since the scan: a copy the scan did not
			// judge.
			continue
		}
		if err := b.Delete(blockKey(c.key), nil); err != nil {
			return fmt.Errorf("packblocks: sweep: %w", err)
		}
		if !cur.corrupt {
			blocks--
		}
		swept++
		sweptBytes += pack.EntryHeaderSize + int64(cur.len)
	}
	if h := s.hooks.sweepBeforeCommit; h != nil {
		h()
	}
	if swept == 0 {
		return nil
	}
	if err := b.Set(keyCount, u64(blocks), nil); err != nil {
		return fmt.Errorf("packblocks: sweep: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("packblocks: sweep: %w", err)
	}
	s.setBlocks(blocks)
	rep.Swept += swept
	rep.SweptBytes += sweptBytes
	return nil
}
