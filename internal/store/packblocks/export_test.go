package packblocks

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/ebsd/ebsd/internal/pack"
)

// CheckIndex returns what no Open may leave behind (docs/gc.md T7): an
// index entry that names a pack that does not exist, a compaction intent,
// or a retired pack's marker.
func CheckIndex(s *Store) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	var errs []error
	for _, prefix := range []byte{prefixIntent, prefixRetired} {
		keys, _, err := keysWithPrefix(s.db, prefix)
		if err != nil {
			return err
		}
		for _, k := range keys {
			errs = append(errs, fmt.Errorf("leftover %q key %x", prefix, k))
		}
	}
	locs, err := s.locations()
	if err != nil {
		return err
	}
	for id := range locs {
		if _, err := s.fs.Stat(s.packPath(id)); errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%d index entries name pack %s, which does not exist", len(locs[id]), packName(id)))
		} else if err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// DeadBytes returns the bytes of the packs other than the active one that
// no index entry names: entries, headers and damage; file headers aside.
// After a collection that compacted every pack it is 0.
func DeadBytes(s *Store) (int64, error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	locs, err := s.locations()
	if err != nil {
		return 0, err
	}
	sizes, err := s.packSizes()
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	active := s.active
	s.mu.Unlock()
	var dead int64
	for id, size := range sizes {
		if active != nil && id == active.id {
			continue
		}
		dead += size - pack.FileHeaderSize
		for _, l := range locs[id] {
			dead -= pack.EntryHeaderSize + int64(l.len)
		}
	}
	return dead, nil
}

// locations returns every block location in the index, by pack.
func (s *Store) locations() (map[uint32][]location, error) {
	_, values, err := keysWithPrefix(s.db, prefixBlock)
	if err != nil {
		return nil, err
	}
	m := make(map[uint32][]location)
	for _, v := range values {
		l, err := decodeLocation(v)
		if err != nil {
			return nil, err
		}
		m[l.pack] = append(m[l.pack], l)
	}
	return m, nil
}
