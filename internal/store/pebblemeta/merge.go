package pebblemeta

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// merge walks the W keys of several snapshots at once, in ascending index
// order and, at equal indexes, in the order the snapshots were given: a
// k-way merge of one iterator per snapshot.
type merge struct {
	h mergeHeap
}

// mergeCursor is one snapshot's W iterator in a merge.
type mergeCursor struct {
	it        *pebble.Iterator
	prefixLen int
	pos       int   // of the snapshot in the list given to openMerge
	index     int32 // of the current key
}

// openMerge starts a merge of the W keys from start of snapshots ids,
// read from r. The caller must close it.
func openMerge(ctx context.Context, r pebble.Reader, ids []string, start int32) (*merge, error) {
	prefixes := make([][]byte, len(ids))
	for pos, id := range ids {
		prefixes[pos] = writePrefix(id)
	}
	return openMergeOf(ctx, r, prefixes, start)
}

// openMergeOf is openMerge of the keys that follow each of prefixes with
// an index (W keys, or R entries), in the order of prefixes at equal
// indexes.
func openMergeOf(ctx context.Context, r pebble.Reader, prefixes [][]byte, start int32) (_ *merge, err error) {
	m := &merge{}
	defer func() {
		if err != nil {
			_ = m.close()
		}
	}()
	for pos, prefix := range prefixes {
		it, err := r.NewIterWithContext(ctx, &pebble.IterOptions{
			LowerBound: appendIndex(prefix, start),
			UpperBound: prefixEnd(prefix),
		})
		if err != nil {
			return nil, err
		}
		c := &mergeCursor{it: it, prefixLen: len(prefix), pos: pos}
		m.h = append(m.h, c) // closed by m.close even if empty
		ok, err := c.at(it.First())
		if err != nil {
			return nil, err
		}
		if !ok {
			m.h = m.h[:len(m.h)-1]
			if err := it.Close(); err != nil {
				return nil, err
			}
		}
	}
	for i := len(m.h)/2 - 1; i >= 0; i-- {
		m.h.down(i)
	}
	return m, nil
}

// head returns the cursor at the smallest index, or nil at the end.
func (m *merge) head() *mergeCursor {
	if len(m.h) == 0 {
		return nil
	}
	return m.h[0]
}

// more reports whether a cursor other than the head is at index, which
// the head is at: one of the head's children is, if any is.
func (m *merge) more(index int32) bool {
	return (len(m.h) > 1 && m.h[1].index == index) || (len(m.h) > 2 && m.h[2].index == index)
}

// advance moves the head cursor to its next key.
func (m *merge) advance() error {
	c := m.h[0]
	ok, err := c.at(c.it.Next())
	if err != nil {
		return err
	}
	if ok {
		m.h.down(0)
		return nil
	}
	last := len(m.h) - 1
	m.h[0] = m.h[last]
	m.h = m.h[:last]
	m.h.down(0)
	return c.it.Close()
}

// close closes the iterators that are still open.
func (m *merge) close() error {
	var err error
	for _, c := range m.h {
		if cerr := c.it.Close(); err == nil {
			err = cerr
		}
	}
	m.h = nil
	return err
}

// at decodes the current key after a positioning call that returned
// valid, and reports whether there is one.
func (c *mergeCursor) at(valid bool) (bool, error) {
	if !valid {
		return false, nil
	}
	key := c.it.Key()
	if len(key) != c.prefixLen+4 {
		return false, fmt.Errorf("key %x: %w", key, store.ErrCorrupt)
	}
	c.index = decodeIndex(key[c.prefixLen:])
	return true, nil
}

// value returns the current value, valid until the cursor moves.
func (c *mergeCursor) value() ([]byte, error) { return c.it.ValueAndErr() }

// ref decodes the current value.
func (c *mergeCursor) ref() (store.BlockRef, error) {
	v, err := c.it.ValueAndErr()
	if err != nil {
		return store.BlockRef{}, err
	}
	return decodeRef(v)
}

// mergeHeap orders cursors by index, then by position: a binary min-heap,
// sifted by hand rather than through container/heap, whose interface
// calls cost a sixth of a merge (issue 14).
type mergeHeap []*mergeCursor

func (h mergeHeap) less(i, j int) bool {
	if h[i].index != h[j].index {
		return h[i].index < h[j].index
	}
	return h[i].pos < h[j].pos
}

// down restores the heap's order below i after h[i] grew.
func (h mergeHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}
