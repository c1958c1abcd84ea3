package packblocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
)

const packSuffix = ".pack"

// packName returns the file name of pack id: fixed-width hex, so that
// names sort by id.
func packName(id uint32) string { return fmt.Sprintf("%08x%s", id, packSuffix) }

// parsePackName returns the id of a pack file name, or false for a file
// that is not a pack.
func parsePackName(name string) (uint32, bool) {
	hex, ok := strings.CutSuffix(name, packSuffix)
	if !ok || len(hex) != 8 {
		return 0, false
	}
	id, err := strconv.ParseUint(hex, 16, 32)
	return uint32(id), err == nil
}

// recover brings the index up to date with the packs, before the syncer
// starts. For every pack it scans the bytes after the pack's watermark:
// each complete, valid entry there is indexed, and the pack is truncated
// at the first invalid one.
//
// Why this loses nothing that Put acknowledged: Put returns nil only after
// an fdatasync of its pack that started after its entry's write had
// returned, and entries are written one at a time under the append lock,
// so every byte of the pack up to the end of an acknowledged entry was
// written before that sync and is durable. A torn or invalid entry can
// therefore only lie after the last acknowledged entry of its pack, and
// truncating there drops only bytes that nobody was told are stored. The
// index side is consistent because the watermark is written in the same
// Pebble batch as the entries below it; a batch lost in the crash leaves
// an older watermark, and the scan from there finds its entries again.
// The index is committed only after the pack is synced (the scanned bytes
// may still have been only in the page cache of a crashed process), so it
// never points at data that could vanish.
func (s *Store) recover(ctx context.Context) error {
	marks, err := watermarks(s.db)
	if err != nil {
		return err
	}
	if s.blocks, err = readU64(s.db, keyCount); err != nil {
		return err
	}
	ids, err := listPacks(s.packDir)
	if err != nil {
		return err
	}
	for id := range marks {
		if _, ok := slices.BinarySearch(ids, id); !ok {
			return fmt.Errorf("packblocks: open: pack %s is indexed but missing: %w", packName(id), store.ErrCorrupt)
		}
	}

	var removed bool
	var last *activePack
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.nextID = id + 1
		p, err := s.recoverPack(id, marks[id])
		if err != nil {
			if last != nil {
				last.f.Close()
			}
			return err
		}
		if p == nil {
			removed = true
			continue
		}
		if last != nil {
			last.f.Close()
		}
		last = p
		s.stats.packs.Add(1)
		s.stats.bytes.Add(p.w.Offset())
	}
	s.stats.blocks.Store(int64(s.blocks))
	if removed {
		if err := syncDir(s.packDir); err != nil {
			return err
		}
	}
	// Keep appending to the newest pack while it has room, rather than
	// leaving a small pack behind after every restart. Appending after a
	// cut tail is safe: the cut was synced above.
	if last != nil && last.w.Offset() < s.opts.PackSize {
		if _, err := last.f.Seek(last.w.Offset(), io.SeekStart); err != nil {
			last.f.Close()
			return fmt.Errorf("packblocks: open: %w", err)
		}
		s.active = last
	} else if last != nil {
		last.f.Close()
	}
	return nil
}

// listPacks returns the ids of the pack files in dir, ascending.
func listPacks(dir string) ([]uint32, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("packblocks: open: %w", err)
	}
	var ids []uint32
	for _, de := range des {
		if id, ok := parsePackName(de.Name()); ok && de.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// recoverPack indexes the valid entries of pack id after its watermark mark
// and cuts off anything after them. It returns the pack open for writing
// at its end, or nil when the pack held nothing and was removed.
func (s *Store) recoverPack(id uint32, mark int64) (*activePack, error) {
	path := s.packPath(id)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("packblocks: open: %w", err)
	}
	p, err := s.recoverFile(f, id, mark)
	if err != nil || p == nil {
		f.Close()
	}
	if err == nil && p == nil {
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("packblocks: open: %w", err)
		}
	}
	return p, err
}

func (s *Store) recoverFile(f *os.File, id uint32, mark int64) (*activePack, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("packblocks: open: %w", err)
	}
	size := fi.Size()
	var hdr [pack.FileHeaderSize]byte
	n, err := f.ReadAt(hdr[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("packblocks: open: %w", err)
	}
	if err := pack.ParseFileHeader(hdr[:n]); err != nil {
		if errors.Is(err, pack.ErrCorrupt) && mark == 0 {
			// A crash while the pack was being created: its header was
			// never synced, so neither was any entry after it.
			return nil, nil
		}
		return nil, fmt.Errorf("packblocks: open %s: %w: %w", f.Name(), store.ErrCorrupt, err)
	}
	start := max(mark, pack.FileHeaderSize)
	if size < start {
		return nil, fmt.Errorf("packblocks: open %s: %w: %d bytes, but entries up to %d were stored",
			f.Name(), store.ErrCorrupt, size, start)
	}

	b := s.db.NewIndexedBatch()
	defer b.Close()
	var added uint64
	sc := pack.NewScanner(f, start, size)
	for sc.Next() {
		e := sc.Entry()
		// A key may be stored twice when a Put failed after its append
		// and was retried; the first copy indexed wins.
		if ok, err := batchHas(b, e.Header.Key); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		loc := location{pack: id, off: e.Offset, len: e.Header.Len}
		if err := b.Set(blockKey(e.Header.Key), loc.encode(), nil); err != nil {
			return nil, fmt.Errorf("packblocks: open: %w", err)
		}
		added++
	}
	end := sc.Offset()
	if err := sc.Err(); err != nil && !errors.Is(err, pack.ErrCorrupt) {
		// A read error says nothing about the bytes: keep them.
		return nil, fmt.Errorf("packblocks: open %s: %w", f.Name(), err)
	}
	if end < size {
		if err := f.Truncate(end); err != nil {
			return nil, fmt.Errorf("packblocks: open: cut torn tail: %w", err)
		}
	}
	if end != mark || end < size {
		if err := fdatasync(f); err != nil {
			return nil, fmt.Errorf("packblocks: open: %w", err)
		}
		s.blocks += added
		if err := b.Set(watermarkKey(id), u64(uint64(end)), nil); err != nil {
			return nil, fmt.Errorf("packblocks: open: %w", err)
		}
		if err := b.Set(keyCount, u64(s.blocks), nil); err != nil {
			return nil, fmt.Errorf("packblocks: open: %w", err)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			return nil, fmt.Errorf("packblocks: open: index: %w", err)
		}
	}
	return &activePack{id: id, f: f, w: pack.ResumeWriter(f, end)}, nil
}

// batchHas reports whether k is indexed in b or the DB under it.
func batchHas(b *pebble.Batch, k ebs.Digest) (bool, error) {
	_, closer, err := b.Get(blockKey(k))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("packblocks: open: index lookup: %w", err)
	}
	closer.Close()
	return true, nil
}
