package packblocks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// listPacks returns the ids of the pack files, ascending.
func (s *Store) listPacks() ([]uint32, error) {
	names, err := s.fs.List(s.packDir)
	if err != nil {
		return nil, fmt.Errorf("packblocks: open: %w", err)
	}
	var ids []uint32
	for _, name := range names {
		id, ok := parsePackName(name)
		if !ok {
			continue
		}
		fi, err := s.fs.Stat(s.fs.PathJoin(s.packDir, name))
		if err != nil {
			return nil, fmt.Errorf("packblocks: open: %w", err)
		}
		if fi.Mode().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
