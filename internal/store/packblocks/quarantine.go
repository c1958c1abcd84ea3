package packblocks

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/vfsdir"
)

// span is a range of bytes in a pack.
type span struct{ from, to int64 }

func (s span) len() int64 { return s.to - s.from }

// addSpan appends [from, to) to spans, merged with the last one when they
// touch: adjacent damaged entries are reported as one region.
func addSpan(spans []span, from, to int64) []span {
	if n := len(spans); n > 0 && spans[n-1].to == from {
		spans[n-1].to = to
		return spans
	}
	return append(spans, span{from, to})
}

// addSpans appends more to spans, merging spans that touch.
func addSpans(spans, more []span) []span {
	for _, m := range more {
		spans = addSpan(spans, m.from, m.to)
	}
	return spans
}

// quarantineName names the copy of the damaged bytes of pack id that start
// at offset off.
func quarantineName(id uint32, off int64) string {
	return fmt.Sprintf("%s.%d.bad", packName(id), off)
}

// quarantine copies the damaged bytes d of pack id, open as f, to a file
// of their own in packs/quarantine, synced, and logs them at Error level.
// The bytes also stay in the pack, which is sealed; the copy is what an
// operator finds, and survives whatever later becomes of the pack. An
// Open that crashed before sealing the pack quarantines the same bytes
// again, replacing the copy.
func (s *Store) quarantine(f vfs.File, id uint32, d span) error {
	dir := s.fs.PathJoin(s.packDir, "quarantine")
	if err := vfsdir.MkdirAll(s.fs, dir); err != nil {
		return err
	}
	path := s.fs.PathJoin(dir, quarantineName(id, d.from))
	if err := s.copyOut(f, d, path); err != nil {
		return fmt.Errorf("quarantine %s: %w", path, err)
	}
	if err := vfsdir.Sync(s.fs, dir); err != nil {
		return err
	}
	s.log.Error("packblocks: damaged bytes in a pack; the entries there are lost, the valid ones after them were kept",
		"pack", packName(id), "offset", d.from, "length", d.len(), "quarantine", path,
		"action", "if the machine did not lose power before this start (which can leave writes it never "+
			"acknowledged torn out of order), check the disk for errors (kernel log, SMART); a snapshot that "+
			"refers to a lost block fails to read it until the block is written again; the quarantine file is "+
			"a copy for inspection and may be deleted")
	return nil
}

// copyOut writes the bytes d of f to a new file at path and syncs it.
func (s *Store) copyOut(f vfs.File, d span, path string) error {
	q, err := s.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	err = s.fill(q, f, d)
	if cerr := q.Close(); err == nil {
		err = cerr
	}
	return err
}

// fill writes the bytes d of f to q, private, and syncs q.
func (s *Store) fill(q, f vfs.File, d span) error {
	if err := makePrivate(q); err != nil {
		return err
	}
	buf := make([]byte, min(d.len(), 1<<20))
	for off := d.from; off < d.to; {
		n := int(min(int64(len(buf)), d.to-off))
		if m, err := f.ReadAt(buf[:n], off); m < n {
			return fmt.Errorf("read %d bytes at %d: %w", n, off, err)
		}
		if _, err := q.Write(buf[:n]); err != nil {
			return err
		}
		off += int64(n)
	}
	return syncData(q)
}
