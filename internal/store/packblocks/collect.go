package packblocks

import (
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// writable returns why the store cannot change its index now, or nil: the
// garbage collector's calls need a writable, open store. The caller holds
// closeMu.
func (s *Store) writable(op string) error {
	switch {
	case s.closed:
		return fmt.Errorf("packblocks: %s: %w", op, store.ErrClosed)
	case s.dead != nil:
		return s.dead
	case s.readOnly:
		return fmt.Errorf("packblocks: %s: %w", op, s.spaceError())
	}
	return nil
}

// packSizes returns every pack file and its size.
func (s *Store) packSizes() (map[uint32]int64, error) {
	ids, err := s.listPacks()
	if err != nil {
		return nil, err
	}
	sizes := make(map[uint32]int64, len(ids))
	for _, id := range ids {
		fi, err := s.fs.Stat(s.packPath(id))
		if err != nil {
			return nil, fmt.Errorf("packblocks: %w", err)
		}
		sizes[id] = fi.Size()
	}
	return sizes, nil
}
