package packblocks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/vfsdir"
)

// defaultMinLive is CompactOptions.MinLive's default.
const defaultMinLive = 0.5

// compactSource is a pack Compact rewrites.
type compactSource struct {
	id      uint32
	size    int64
	live    int64 // bytes of its entries left, as the last sweep measured
	version uint32
}

// indexedEntry is an index entry that names a source.
type indexedEntry struct {
	key ebs.Digest
	loc location
}

// Compact implements store.Collectable (docs/gc.md §4 "Choosing packs",
// §6). The sources are packs that existed when the last Sweep ran and are
// complete: not the active pack, every byte indexed or judged (watermark
// equal to size). Those whose live fraction is below opts.MinLive go
// first, sparsest first, then every pack of format version 1, whatever its
// fraction (compaction is how packs migrate to version 2), then, with
// compression on, the packs whose entries sampling finds compressible
// (compact_compress.go), as long as the live bytes copied stay within
// opts.MaxBytes. A MinLive of 1 or more
// takes every complete pack. They are merged into output packs of about
// Options.PackSize, one compaction (C1-C7) per output; a source with no
// live entry is removed without a copy.
func (s *Store) Compact(ctx context.Context, opts store.CompactOptions) (store.CompactReport, error) {
	var rep store.CompactReport
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if err := s.writable("compact"); err != nil {
		return rep, err
	}
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	res := s.lastSweep
	if res == nil {
		return rep, errors.New("packblocks: compact: no Sweep measured the packs yet")
	}
	start := time.Now()
	minLive := cmp.Or(opts.MinLive, defaultMinLive)
	s.retireSparseActive(res, minLive)
	s.retireIdleActive(res)
	srcs, err := s.chooseSources(res, minLive, opts.MaxBytes)
	if err != nil {
		return rep, err
	}
	pace := newPacer(opts.Rate, s.writesRunning)
	var zipped compressed
	var indexed map[uint32]map[int64]indexedEntry
	if len(srcs) > 0 {
		if indexed, err = s.indexedIn(srcs); err != nil {
			return rep, err
		}
	}
	for _, round := range s.rounds(srcs) {
		if err = ctx.Err(); err != nil {
			break
		}
		var r store.CompactReport
		r, err = s.compactRound(ctx, round, indexed, pace, &zipped)
		rep.PacksCompacted += r.PacksCompacted
		rep.PacksRemoved += r.PacksRemoved
		rep.BytesCopied += r.BytesCopied
		rep.BytesReclaimed += r.BytesReclaimed
		for _, src := range round {
			delete(res.packs, src.id)
		}
		if err != nil {
			break
		}
	}
	attrs := []any{"packs_compacted", rep.PacksCompacted, "packs_removed", rep.PacksRemoved,
		"bytes_copied", rep.BytesCopied, "bytes_reclaimed", rep.BytesReclaimed,
		"duration", time.Since(start).Round(time.Millisecond),
		"io_bytes", pace.total, "paced_bytes", pace.paced, "paced_sleep", pace.slept.Round(time.Millisecond),
		"compressed_raw_bytes", zipped.raw, "compressed_bytes", zipped.stored}
	if err != nil {
		s.log.Warn("packblocks: compaction stopped", append(attrs, "err", err)...)
		return rep, err
	}
	s.log.Info("packblocks: compaction", attrs...)
	return rep, nil
}

// retireSparseActive ends appends to the active pack when the sweep found
// it mostly dead, so that it becomes a complete pack that this or the next
// Compact can take: otherwise the dead bytes of the pack being written (up
// to Options.PackSize, 128 MiB by default) would stay until it filled,
// and deleting everything would not give the space back. Its fraction is
// measured against its size when the sweep started, which the sweep's live
// bytes belong to; entries appended since are live and merely get copied.
// A pack with little dead data is left alone, so that collections do not
// cut packs short for nothing.
func (s *Store) retireSparseActive(res *sweepResult, minLive float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.active
	if p == nil {
		return
	}
	size, ok := res.packs[p.id]
	if !ok {
		return // started after the sweep: all of it is live
	}
	live := res.bytes(p.id, int64(pack.EntryHeaderSize))
	dead := size - pack.FileHeaderSize - live
	if float64(live) >= minLive*float64(size) || dead < min(s.opts.PackSize/4, 4<<20) {
		return
	}
	s.log.Info("packblocks: ending the pack being written, to compact it", "pack", p.id,
		"size", size, "live_bytes", live)
	s.retireLocked(p)
}

// chooseSources picks the packs to compact (see Compact), in order.
func (s *Store) chooseSources(res *sweepResult, minLive float64, maxBytes int64) ([]compactSource, error) {
	s.mu.Lock()
	active := s.active
	s.mu.Unlock()
	marks, err := watermarks(s.db)
	if err != nil {
		return nil, err
	}
	var sparse, old, rest []compactSource
	for id := range res.packs {
		if active != nil && id == active.id {
			continue
		}
		fi, err := s.fs.Stat(s.packPath(id))
		if errors.Is(err, fs.ErrNotExist) {
			continue // compacted away since the sweep
		}
		if err != nil {
			return nil, fmt.Errorf("packblocks: compact: %w", err)
		}
		if marks[id] != fi.Size() {
			// Still being written (its last group not indexed yet), or a
			// tail that recovery will judge at the next Open.
			continue
		}
		src := compactSource{id: id, size: fi.Size()}
		if src.version, err = s.packVersion(id); err != nil {
			return nil, err
		}
		hdr := int64(pack.EntryHeaderSize)
		if src.version == 1 {
			hdr = 52
		}
		src.live = res.bytes(id, hdr)
		switch {
		case minLive >= 1 || float64(src.live) < minLive*float64(src.size):
			sparse = append(sparse, src)
		case src.version == 1:
			old = append(old, src)
		default:
			rest = append(rest, src)
		}
	}
	// Sparsest first: a greedy cost-benefit order (docs/gc.md §4).
	slices.SortFunc(sparse, func(a, b compactSource) int {
		return cmp.Or(cmp.Compare(float64(a.live)/float64(a.size), float64(b.live)/float64(b.size)), cmp.Compare(a.id, b.id))
	})
	slices.SortFunc(old, func(a, b compactSource) int { return cmp.Compare(a.id, b.id) })
	var srcs []compactSource
	var copied int64
	for _, src := range slices.Concat(sparse, old) {
		if maxBytes > 0 && copied+src.live > maxBytes {
			return srcs, nil
		}
		copied += src.live
		srcs = append(srcs, src)
	}
	budget := int64(0) // no bound
	if maxBytes > 0 {
		budget = max(maxBytes-copied, 1)
	}
	compress, err := s.compressionSources(rest, budget)
	if err != nil {
		return nil, err
	}
	return append(srcs, compress...), nil
}

// packVersion returns the format version of pack id, or 0 when its header
// is damaged (a pack sealed for that reason).
func (s *Store) packVersion(id uint32) (uint32, error) {
	f, err := s.fs.Open(s.packPath(id))
	if err != nil {
		return 0, fmt.Errorf("packblocks: compact: %w", err)
	}
	defer f.Close()
	var hdr [pack.FileHeaderSize]byte
	n, _ := f.ReadAt(hdr[:], 0)
	v, err := pack.FileVersion(hdr[:n])
	if errors.Is(err, pack.ErrCorrupt) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("packblocks: compact %s: %w", packName(id), err)
	}
	return v, nil
}

// rounds groups srcs, in order, into the sources of one output pack each:
// live bytes up to about Options.PackSize.
func (s *Store) rounds(srcs []compactSource) [][]compactSource {
	var rounds [][]compactSource
	var live int64
	for _, src := range srcs {
		n := len(rounds)
		if n == 0 || live > 0 && live+src.live > s.opts.PackSize-pack.FileHeaderSize {
			rounds = append(rounds, nil)
			n, live = n+1, 0
		}
		rounds[n-1] = append(rounds[n-1], src)
		live += src.live
	}
	return rounds
}

// eachIndexed calls fn with every block the index names, in key order.
func eachIndexed(db *pebble.DB, fn func(indexedEntry) error) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixBlock}, UpperBound: []byte{prefixBlock + 1}})
	if err != nil {
		return fmt.Errorf("packblocks: compact: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		loc, err := decodeLocation(it.Value())
		if err != nil || len(k) != 1+len(ebs.Digest{}) {
			it.Close()
			return fmt.Errorf("packblocks: compact: index key %x: %w", k, cmp.Or(err, store.ErrCorrupt))
		}
		if err := fn(indexedEntry{key: ebs.Digest(k[1:]), loc: loc}); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("packblocks: compact: %w", err)
	}
	return nil
}

// indexedIn returns the index entries that name the sources, by pack and
// offset. Nothing new comes to name a source while it is compacted:
// appends go to the active pack, and recovery, the only other code that
// indexes entries of existing packs, runs only in Open.
func (s *Store) indexedIn(srcs []compactSource) (map[uint32]map[int64]indexedEntry, error) {
	m := make(map[uint32]map[int64]indexedEntry, len(srcs))
	for _, src := range srcs {
		m[src.id] = make(map[int64]indexedEntry)
	}
	err := eachIndexed(s.db, func(e indexedEntry) error {
		if byOff, ok := m[e.loc.pack]; ok {
			byOff[e.loc.off] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// compactRound compacts srcs into one new pack, out, by the protocol of
// docs/gc.md §6.1:
//
//	C1 reserve out's id
//	C2 commit, synced, the intent "c out" = copying srcs, and the id high-water mark "i"
//	C3 copy the entries the index names in srcs (and salvage, §6.4) to out
//	C4 fdatasync out, fsync the pack directory
//	C5 commit, synced, in one batch: each moved key's new location (if the index still names
//	   the old one), out's watermark and seal, "r p" for each source in place of its
//	   watermark and seal, and "c out" = done
//	C6 forget the sources' handles, unlink them, fsync the pack directory
//	C7 delete the "r" keys and the intent, without sync
//
// Until C5 is durable the index names nothing in out, and after it nothing
// in the sources (I9); recovery (finishCompactions) removes out when it
// finds the intent still copying, and the sources when it finds "r" keys.
// An error before C5 removes out and the intent; after C5 the compaction is
// done, and what is left of C6 and C7 is recovery's.
func (s *Store) compactRound(ctx context.Context, srcs []compactSource, indexed map[uint32]map[int64]indexedEntry, pace *pacer, zipped *compressed) (store.CompactReport, error) {
	var rep store.CompactReport
	ids := make([]uint32, len(srcs))
	for i, src := range srcs {
		ids[i] = src.id
	}
	step := func(name string) error {
		if h := s.hooks.compactStep; h != nil {
			return h(name)
		}
		return nil
	}

	// C1. From here on, a new pack of the append path takes a higher id.
	s.mu.Lock()
	out := s.nextID
	s.nextID++
	next := s.nextID
	s.mu.Unlock()

	// C2
	if err := step("C2"); err != nil {
		return rep, err
	}
	err := s.runJob(func() error {
		b := s.db.NewBatch()
		defer b.Close()
		if err := b.Set(intentKey(out), encodeIntent(intentCopying, ids), nil); err != nil {
			return err
		}
		if err := b.Set(keyNextID, u64(uint64(next)), nil); err != nil {
			return err
		}
		return b.Commit(pebble.Sync)
	})
	if err != nil {
		return rep, fmt.Errorf("packblocks: compact: intent: %w", err)
	}

	// C3, C4
	c := newCompactCopy(s, out)
	c.pace = pace
	if err := step("C3"); err != nil {
		return rep, err
	}
	for _, src := range srcs {
		if err = c.copyPack(ctx, src, indexed[src.id]); err != nil {
			break
		}
	}
	if err == nil {
		if err = step("C4"); err != nil {
			return rep, err
		}
		err = c.finish()
	}
	if err != nil {
		c.abort()
		return rep, err
	}

	// C5
	if err := step("C5"); err != nil {
		return rep, err
	}
	if err := s.runJob(func() error { return c.commit(ids) }); err != nil {
		return rep, fmt.Errorf("packblocks: compact: commit: %w", err)
	}
	c.logDamage()
	zipped.raw += c.rawIn
	zipped.stored += c.compressedOut
	var removed int64
	for _, src := range srcs {
		removed += src.size
	}
	rep = store.CompactReport{PacksCompacted: len(c.compacted), PacksRemoved: len(srcs),
		BytesCopied: c.copied, BytesReclaimed: removed - c.size}

	// C6
	if err := step("C6"); err != nil {
		return rep, err
	}
	for _, id := range ids {
		s.files.forget(id)
		if err := s.fs.Remove(s.packPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("packblocks: compact: %w", err)
		}
	}
	if err := vfsdir.Sync(s.fs, s.packDir); err != nil {
		return rep, err
	}
	s.stats.packs.Add(int64(c.packs() - len(srcs)))
	s.stats.bytes.Add(c.size - removed)

	// C7
	if err := step("C7"); err != nil {
		return rep, err
	}
	err = s.runJob(func() error {
		b := s.db.NewBatch()
		defer b.Close()
		for _, id := range ids {
			if err := b.Delete(retiredKey(id), nil); err != nil {
				return err
			}
		}
		if err := b.Delete(intentKey(out), nil); err != nil {
			return err
		}
		// Not synced: a lost delete makes the next Open remove files that
		// are gone already.
		return b.Commit(pebble.NoSync)
	})
	if err != nil {
		return rep, fmt.Errorf("packblocks: compact: %w", err)
	}
	return rep, nil
}
