package packblocks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/vfsdir"
)

// finishCompactions is the recovery prologue of docs/gc.md §6.2, run by
// Open before it scans any pack: it undoes the compactions a crash stopped
// before their commit (C5) and finishes those it stopped after, then
// returns the id high-water mark, below which no pack id may be used again.
//
//   - An intent still copying: the output pack may exist, partly written,
//     and nothing names it; it is removed (else the scan would index its
//     entries: duplicates, a leak).
//   - A retired pack ("r"): the index names nothing in it since the commit;
//     it is removed (else the scan, finding no watermark, would index its
//     dead entries again: a leak).
//   - An intent done: only the marker is left to delete.
//
// The removals are made durable before the markers go, in one synced
// batch. Without the high-water mark, a retired pack of the highest id
// would see its id taken by the next new pack, and a stale "r" marker
// would then remove that pack.
func (s *Store) finishCompactions() (uint32, error) {
	intents, states, err := keysWithPrefix(s.db, prefixIntent)
	if err != nil {
		return 0, err
	}
	retired, _, err := keysWithPrefix(s.db, prefixRetired)
	if err != nil {
		return 0, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	var removed bool
	for i, k := range intents {
		if len(k) != 5 || len(states[i]) == 0 {
			return 0, fmt.Errorf("packblocks: open: compaction intent %x: %w", k, store.ErrCorrupt)
		}
		out := binary.BigEndian.Uint32(k[1:])
		if states[i][0] == intentCopying {
			gone, err := s.removePack(out)
			if err != nil {
				return 0, err
			}
			removed = removed || gone
			s.log.Info("packblocks: undid a compaction that a crash interrupted", "output", packName(out))
		}
		if err := b.Delete(k, nil); err != nil {
			return 0, err
		}
	}
	for _, k := range retired {
		if len(k) != 5 {
			return 0, fmt.Errorf("packblocks: open: retired pack %x: %w", k, store.ErrCorrupt)
		}
		gone, err := s.removePack(binary.BigEndian.Uint32(k[1:]))
		if err != nil {
			return 0, err
		}
		removed = removed || gone
		if err := b.Delete(k, nil); err != nil {
			return 0, err
		}
	}
	if removed {
		if err := vfsdir.Sync(s.fs, s.packDir); err != nil {
			return 0, err
		}
	}
	if !b.Empty() {
		if err := b.Commit(pebble.Sync); err != nil {
			return 0, fmt.Errorf("packblocks: open: %w", err)
		}
	}
	next, err := readU64(s.db, keyNextID)
	if err != nil {
		return 0, err
	}
	if next > math.MaxUint32 {
		return 0, fmt.Errorf("packblocks: open: pack id high-water mark %d: %w", next, store.ErrCorrupt)
	}
	return uint32(next), nil
}

// removePack removes pack id's file if it exists, and reports whether it
// did.
func (s *Store) removePack(id uint32) (bool, error) {
	err := s.fs.Remove(s.packPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("packblocks: open: %w", err)
	}
	return true, nil
}
