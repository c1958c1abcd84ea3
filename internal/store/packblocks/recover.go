package packblocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/vfsdir"
)

// recoveredPack is what recovery learned about a pack.
type recoveredPack struct {
	size    int64  // bytes in the file
	end     int64  // end of its valid entries: where an append would go
	sealed  bool   // never to be appended to again
	version uint32 // format version; 0 if its header is damaged
}

// recover brings the index up to date with the packs, before the syncer
// starts. For every pack it scans the bytes after the pack's watermark and
// indexes each complete, valid entry there; bytes that are not one are
// skipped, never cut away, and seal the pack.
//
// Why this loses nothing that Put acknowledged:
//
//   - Put returns nil only after an fdatasync of its pack that started
//     after its entry's write had returned, and entries are written one at
//     a time under the append lock, so every byte of the pack up to the end
//     of an acknowledged entry was durable by then.
//   - The pack's directory entry was durable too: the group that creates a
//     pack syncs the directory first, and recover syncs it before the index
//     points into any pack found here and before any append or dedup hit
//     can be acknowledged into one (a crashed process's new pack may exist
//     only in the page cache; so may a directory of the path, which Open
//     syncs).
//   - The index is consistent because a watermark is written in the same
//     batch as the entries below it: a batch lost in a crash leaves an
//     older watermark, and the scan from there finds its entries again. The
//     scan syncs the pack before committing (the bytes may have been only
//     in a crashed process's page cache), so the index never points at
//     data that could vanish.
//   - Bytes past the watermark that are not a valid entry are a torn write
//     that nobody was told is stored, or damage (a bad sector, a flipped
//     bit) that may hit acknowledged entries. The scan resynchronises at
//     the next valid entry either way, so no valid entry after them is
//     lost; the bytes stay in the pack (and damage is also copied to
//     quarantine), and the pack is sealed with its watermark at its end.
//   - A key found twice (a Put that failed after its append and was tried
//     again) keeps its first copy, unless that copy was marked corrupt: the
//     mark is synced before a replacing copy can be acknowledged, so the
//     replacement found by the scan takes its place.
func (s *Store) recover(ctx context.Context) error {
	minID, err := s.finishCompactions()
	if err != nil {
		return err
	}
	marks, err := watermarks(s.db)
	if err != nil {
		return err
	}
	if s.blocks, err = readU64(s.db, keyCount); err != nil {
		return err
	}
	ids, err := s.listPacks()
	if err != nil {
		return err
	}
	for id := range marks {
		if _, ok := slices.BinarySearch(ids, id); !ok {
			return fmt.Errorf("packblocks: open: pack %s is indexed but missing: %w", packName(id), store.ErrCorrupt)
		}
	}
	// A pack listed here may have been created by a process that crashed
	// before syncing its directory entry, which then lives only in the page
	// cache. Sync packs/ before the index points into any pack (the scan
	// below indexes what it finds, and Pebble may make that durable at its
	// next open) and before anything is acknowledged into, or deduplicated
	// against, a pack it holds.
	if err := vfsdir.Sync(s.fs, s.packDir); err != nil {
		return err
	}

	var removed bool
	var last recoveredPack
	lastID := -1
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.nextID = id + 1
		r, err := s.recoverPack(id, marks[id])
		if errors.Is(err, errTornHeader) {
			if err := s.fs.Remove(s.packPath(id)); err != nil {
				return fmt.Errorf("packblocks: open: %w", err)
			}
			removed = true
			continue
		}
		if err != nil {
			return err
		}
		last, lastID = r, int(id)
		s.stats.packs.Add(1)
		s.stats.bytes.Add(r.size)
	}
	s.stats.blocks.Store(int64(s.blocks))
	s.nextID = max(s.nextID, minID) // I11: not even the id of a pack compacted away
	if removed {
		if err := vfsdir.Sync(s.fs, s.packDir); err != nil {
			return err
		}
	}
	// Keep appending to the newest pack while it has room, rather than
	// leaving a small pack behind after every restart; but never to a pack
	// of an older format version: a pack holds entries of its own version.
	if lastID >= 0 && !last.sealed && last.end < s.opts.PackSize && last.version == pack.Version {
		return s.resume(uint32(lastID), last.end)
	}
	return nil
}

// resume makes pack id, whose valid entries end at end, the active pack.
func (s *Store) resume(id uint32, end int64) error {
	f, err := s.fs.OpenReadWrite(s.packPath(id), vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("packblocks: open: %w", err)
	}
	s.active = &activePack{id: id, f: f, w: pack.ResumeWriter(io.NewOffsetWriter(f, end), end)}
	return nil
}

// errTornHeader is recoverPack's verdict on a pack whose file header is
// not valid and which holds no valid entry: a crash while the pack was
// being created, before its first sync. Recovery removes it.
var errTornHeader = errors.New("torn pack header")

// recoverPack indexes the valid entries of pack id after its watermark
// mark, and seals the pack if it holds invalid bytes.
func (s *Store) recoverPack(id uint32, mark int64) (recoveredPack, error) {
	f, err := s.fs.OpenReadWrite(s.packPath(id), vfs.WriteCategoryUnspecified)
	if err != nil {
		return recoveredPack{}, fmt.Errorf("packblocks: open: %w", err)
	}
	defer f.Close()
	r, err := s.recoverFile(f, id, mark)
	if err != nil && !errors.Is(err, errTornHeader) {
		err = fmt.Errorf("packblocks: open %s: %w", packName(id), err)
	}
	return r, err
}

func (s *Store) recoverFile(f vfs.File, id uint32, mark int64) (recoveredPack, error) {
	fi, err := f.Stat()
	if err != nil {
		return recoveredPack{}, err
	}
	r := recoveredPack{size: fi.Size()}
	var hdr [pack.FileHeaderSize]byte
	n, err := f.ReadAt(hdr[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return r, err
	}
	if r.sealed, err = isSealed(s.db, id); err != nil {
		return r, err
	}
	var damaged []span // invalid bytes with valid entries after them
	var hdrErr error
	r.version, hdrErr = pack.FileVersion(hdr[:n])
	switch {
	case hdrErr == nil:
	case !errors.Is(hdrErr, pack.ErrCorrupt):
		return r, hdrErr // a format this code does not know: leave it alone
	case mark == 0:
		// Nothing indexed in the pack: its creation may never have made it
		// to disk (then none of its entries did either), or its header was
		// damaged since. The scan tells which.
		if r.size <= pack.FileHeaderSize {
			return r, errTornHeader
		}
		damaged = append(damaged, span{0, pack.FileHeaderSize})
	case !r.sealed:
		// Damage to a pack whose entries are indexed is for Get to find;
		// a header damaged since is not recovery's to guess about.
		return r, fmt.Errorf("%w: %w", store.ErrCorrupt, hdrErr)
	}
	// A sealed pack whose header is damaged was sealed for that reason.
	start := max(mark, pack.FileHeaderSize)
	if r.size < start {
		return r, fmt.Errorf("%w: %d bytes, but entries up to %d were stored", store.ErrCorrupt, r.size, start)
	}

	b := s.db.NewIndexedBatch()
	defer b.Close()
	sr, err := s.scan(b, f, id, start, r.size)
	if err != nil {
		return r, err
	}
	damaged = addSpans(damaged, sr.damaged)
	added, valid, tail := sr.added, sr.valid, sr.tail
	if hdrErr != nil && mark == 0 && valid == 0 {
		return r, errTornHeader
	}
	r.end = tail.from
	if len(damaged) > 0 || tail.len() > 0 {
		// The pack is sealed, never cut: nothing valid after the damage is
		// lost, and the damage stays where it is for inspection.
		r.sealed = true
		if err := b.Set(sealedKey(id), nil, nil); err != nil {
			return r, err
		}
	}
	if r.size == mark {
		return r, nil
	}
	for _, d := range damaged {
		if err := s.quarantine(f, id, d); err != nil {
			return r, err
		}
	}
	if tail.len() > 0 {
		s.log.Warn("packblocks: a pack ends in an incomplete entry; it is sealed and the bytes stay in it",
			"pack", packName(id), "offset", tail.from, "length", tail.len(),
			"action", "none if the process or the machine crashed before this start (a write it never acknowledged); "+
				"otherwise check the disk for errors")
	}
	// The scanned bytes may have been only in the page cache of a crashed
	// process: sync them before the index points at them.
	if err := s.syncFile(f); err != nil {
		return r, err
	}
	s.blocks += added
	// The watermark moves to the end of the pack, past any damage, so
	// that the next Open does not scan it again.
	if err := b.Set(watermarkKey(id), u64(uint64(r.size)), nil); err != nil {
		return r, err
	}
	if err := b.Set(keyCount, u64(s.blocks), nil); err != nil {
		return r, err
	}
	opt := pebble.NoSync // like the syncer's batches: it points at synced data only
	if r.sealed {
		opt = pebble.Sync // not to quarantine and log the same damage at every start
	}
	if err := b.Commit(opt); err != nil {
		return r, fmt.Errorf("index: %w", err)
	}
	return r, nil
}

// scanned is what a scan of a pack found.
type scanned struct {
	added   uint64 // entries indexed
	valid   uint64 // valid entries, indexed or not
	damaged []span // invalid bytes with valid entries after them
	tail    span   // invalid bytes at the end; empty if none
}

// scan indexes in b the valid entries of f, pack id, between start and
// end, skipping invalid bytes, and reports what it found.
func (s *Store) scan(b *pebble.Batch, f vfs.File, id uint32, start, end int64) (scanned, error) {
	r := scanned{tail: span{end, end}}
	sc := pack.NewScanner(f, start, end)
	for {
		for sc.Next() {
			r.valid++
			e := sc.Entry()
			// A key may be stored twice when a Put failed after its append
			// and was retried; the first copy indexed wins, unless it was
			// found corrupt.
			if ok, err := batchHas(b, e.Header.Key); err != nil {
				return r, err
			} else if ok {
				continue
			}
			loc := location{pack: id, off: e.Offset, len: e.Header.Len}
			if err := b.Set(blockKey(e.Header.Key), loc.encode(), nil); err != nil {
				return r, err
			}
			r.added++
		}
		if !errors.Is(sc.Err(), pack.ErrCorrupt) {
			break
		}
		from := sc.Offset()
		if !sc.Skip() {
			if errors.Is(sc.Err(), pack.ErrCorrupt) {
				r.tail.from = from
			}
			break
		}
		r.damaged = addSpan(r.damaged, from, sc.Offset())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, pack.ErrCorrupt) {
		// A read error says nothing about the bytes: keep them. Nor does
		// an entry of an encoding this version cannot read (a newer ebsd
		// wrote it): refuse to open rather than seal or skip it.
		if errors.Is(err, pack.ErrUnsupported) {
			err = fmt.Errorf("written by a newer version of ebsd; run that version: %w", err)
		}
		return r, err
	}
	if n := len(r.damaged); n > 0 && r.damaged[n-1].to == end && r.tail.len() == 0 {
		// Damage with no valid entry after it (a last entry whose header
		// made it to disk but not all of its data) is a torn tail.
		r.tail, r.damaged = r.damaged[n-1], r.damaged[:n-1]
	}
	return r, nil
}

// batchHas reports whether k is stored according to b or the DB under it:
// indexed, and not found corrupt.
func batchHas(b *pebble.Batch, k ebs.Digest) (bool, error) {
	v, closer, err := b.Get(blockKey(k))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("index lookup: %w", err)
	}
	defer closer.Close()
	loc, err := decodeLocation(v)
	return err == nil && !loc.corrupt, err
}
