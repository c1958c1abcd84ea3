package pebblemeta

import (
	"container/heap"
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
func openMerge(ctx context.Context, r pebble.Reader, ids []string, start int32) (_ *merge, err error) {
	m := &merge{}
	defer func() {
		if err != nil {
			_ = m.close()
		}
	}()
	for pos, id := range ids {
		prefix := writePrefix(id)
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
	heap.Init(&m.h)
	return m, nil
}

// head returns the cursor at the smallest index, or nil at the end.
func (m *merge) head() *mergeCursor {
	if len(m.h) == 0 {
		return nil
	}
	return m.h[0]
}

// advance moves the head cursor to its next key.
func (m *merge) advance() error {
	c := m.h[0]
	ok, err := c.at(c.it.Next())
	if err != nil {
		return err
	}
	if ok {
		heap.Fix(&m.h, 0)
		return nil
	}
	heap.Pop(&m.h)
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
		return false, fmt.Errorf("write key %x: %w", key, store.ErrCorrupt)
	}
	c.index = decodeIndex(key[c.prefixLen:])
	return true, nil
}

// ref decodes the current value.
func (c *mergeCursor) ref() (store.BlockRef, error) {
	v, err := c.it.ValueAndErr()
	if err != nil {
		return store.BlockRef{}, err
	}
	return decodeRef(v)
}

// mergeHeap orders cursors by index, then by position.
type mergeHeap []*mergeCursor

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].index != h[j].index {
		return h[i].index < h[j].index
	}
	return h[i].pos < h[j].pos
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*mergeCursor)) }
func (h *mergeHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
