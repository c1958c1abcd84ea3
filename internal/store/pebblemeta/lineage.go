package pebblemeta

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// ViewBlocks implements store.MetaStore. It reads chain[0]'s record to
// find its lineage tree and depth, and returns ErrNotFound when there is
// none. A chain of one snapshot is its own writes, read from its W keys;
// longer chains walk the tree's L keys (see the package doc).
func (s *Store) ViewBlocks(ctx context.Context, chain []string, start int32, limit int) ([]store.IndexedRef, error) {
	if err := s.enter("ViewBlocks"); err != nil {
		return nil, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil || len(chain) == 0 {
		return nil, err
	}
	head, err := s.getSnapshot(chain[0])
	if err != nil {
		return nil, wrapOp("ViewBlocks", err)
	}
	if limit <= 0 {
		return nil, nil
	}

	var out []store.IndexedRef
	if len(chain) == 1 {
		err = ownBlocks(ctx, s.db, head.ID, start, func(r store.IndexedRef) (bool, error) {
			out = append(out, r)
			return len(out) < limit, nil
		})
	} else {
		out, err = s.view(ctx, head, chain, start, limit)
	}
	if err != nil {
		return nil, wrapOp("ViewBlocks", err)
	}
	return out, nil
}

func (s *Store) view(ctx context.Context, head store.Snapshot, chain []string, start int32, limit int) (out []store.IndexedRef, err error) {
	l, err := s.newLayoutReader(ctx, head, chain)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := l.it.Close(); err == nil {
			err = cerr
		}
	}()

	// Entries of descendants and other branches cost a step (mostly a
	// seek) each without giving a block: a shallow snapshot in a deep or
	// wide tree would pay for most of the tree. Once such steps clearly
	// outnumber the blocks found, the rest of the page comes from merging
	// the chain's own W keys, which costs at most their entries in range
	// plus an iterator per snapshot.
	next := start // the first index not yet answered
	valid := l.seek(start)
	for steps := 0; valid && len(out) < limit; steps++ {
		if steps%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if wasted := steps - len(out); wasted > 32+8*len(chain)+2*len(out) {
			rest, err := s.mergeView(ctx, chain, next, limit-len(out))
			return append(out, rest...), err
		}
		e, err := decodeLayout(l.it.Key(), len(l.prefix))
		if err != nil {
			return nil, err
		}
		switch {
		case e.depth > l.depth: // a descendant's: skip to the chain's depth
			valid = l.seekAhead(e.index, valid)
		case !l.inChain(e.id): // another branch's: try the next writer
			valid = l.it.Next()
		default: // the nearest writer: on to the next index
			ref, err := l.ref()
			if err != nil {
				return nil, err
			}
			out = append(out, store.IndexedRef{Index: e.index, Ref: ref})
			if e.index == math.MaxInt32 {
				return out, nil
			}
			next = e.index + 1
			valid = l.seekAhead(next, valid)
		}
	}
	return out, nil
}

// mergeView returns up to limit blocks of the view of chain from start by
// merging the W keys of its snapshots: at each index the nearest writer's
// entry comes first.
func (s *Store) mergeView(ctx context.Context, chain []string, start int32, limit int) (out []store.IndexedRef, err error) {
	m, err := openMerge(ctx, s.db, chain, start)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := m.close(); err == nil {
			err = cerr
		}
	}()
	for c := m.head(); c != nil && len(out) < limit; c = m.head() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Index != c.index {
			ref, err := c.ref()
			if err != nil {
				return nil, err
			}
			out = append(out, store.IndexedRef{Index: c.index, Ref: ref})
		}
		if err := m.advance(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ResolveBlocks implements store.MetaStore, with one seek in the lineage
// tree's L keys per index. It returns ErrNotFound when chain[0] does not
// exist, like ViewBlocks.
func (s *Store) ResolveBlocks(ctx context.Context, chain []string, indexes []int32) ([]store.BlockRef, []bool, error) {
	if err := s.enter("ResolveBlocks"); err != nil {
		return nil, nil, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	refs := make([]store.BlockRef, len(indexes))
	found := make([]bool, len(indexes))
	if len(chain) == 0 {
		return refs, found, nil
	}
	head, err := s.getSnapshot(chain[0])
	if err != nil {
		return nil, nil, wrapOp("ResolveBlocks", err)
	}
	if err := s.resolve(ctx, head, chain, indexes, refs, found); err != nil {
		return nil, nil, wrapOp("ResolveBlocks", err)
	}
	return refs, found, nil
}

func (s *Store) resolve(ctx context.Context, head store.Snapshot, chain []string, indexes []int32, refs []store.BlockRef, found []bool) (err error) {
	if len(indexes) == 0 {
		return nil
	}
	if len(chain) == 1 {
		return s.resolveOwn(ctx, head.ID, indexes, refs, found)
	}
	l, err := s.newLayoutReader(ctx, head, chain)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.it.Close(); err == nil {
			err = cerr
		}
	}()

	valid := false
	for k, index := range indexes {
		if k%256 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		// The seek skips the entries of deeper snapshots; the entries after
		// it at this index are of the chain's depth or above.
		if k == 0 {
			valid = l.seek(index)
		} else {
			valid = l.seekAhead(index, valid)
		}
		for ; valid; valid = l.it.Next() {
			e, err := decodeLayout(l.it.Key(), len(l.prefix))
			if err != nil {
				return err
			}
			if e.index != index {
				break
			}
			if l.inChain(e.id) {
				if refs[k], err = l.ref(); err != nil {
					return err
				}
				found[k] = true
				break
			}
		}
		if !valid {
			break // no entry at or after index: none of the rest is written
		}
	}
	return nil
}

// resolveOwn is resolve for a chain of one snapshot, id, from its own W
// keys: the tree's L keys hold every other snapshot's entries too, which
// a walk would step over (ListChangedBlocks resolves through the common
// ancestor's chain, often a lineage's base alone).
func (s *Store) resolveOwn(ctx context.Context, id string, indexes []int32, refs []store.BlockRef, found []bool) (err error) {
	prefix := writePrefix(id)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: appendIndex(prefix, indexes[0]), UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	key := append([]byte(nil), prefix...)
	valid := false
	for k, index := range indexes {
		if k%256 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		key = appendIndex(key[:len(prefix)], index)
		if k == 0 {
			valid = it.SeekGE(key)
		} else {
			valid = seekAhead(it, key, valid)
		}
		if !valid {
			return nil // none of the rest is written
		}
		if !bytes.Equal(it.Key(), key) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if refs[k], err = decodeRef(v); err != nil {
			return fmt.Errorf("write key %x: %w", key, err)
		}
		found[k] = true
	}
	return nil
}

// layoutReader reads the view of one chain from its tree's L keys.
type layoutReader struct {
	it      *pebble.Iterator
	prefix  []byte // of the tree's L keys
	depth   int    // of chain[0]
	members map[string]bool
	seekKey []byte // reused by seek
}

func (s *Store) newLayoutReader(ctx context.Context, head store.Snapshot, chain []string) (*layoutReader, error) {
	l := &layoutReader{
		prefix:  layoutPrefix(rootOf(head)),
		depth:   head.Depth,
		members: make(map[string]bool, len(chain)),
	}
	for _, id := range chain {
		l.members[id] = true
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: l.prefix, UpperBound: prefixEnd(l.prefix)})
	if err != nil {
		return nil, err
	}
	l.it = it
	l.seekKey = append([]byte(nil), l.prefix...)
	return l, nil
}

// seek moves to the first entry of index, or of a later index, written at
// the chain's depth or above.
func (l *layoutReader) seek(index int32) bool {
	l.seekKey = appendLayoutSeek(l.seekKey[:len(l.prefix)], index, l.depth)
	return l.it.SeekGE(l.seekKey)
}

// nextsBeforeSeek is how many entries seekAhead steps over before it
// seeks instead: a step is several times cheaper than a seek, which
// descends every level of the LSM.
const nextsBeforeSeek = 8

// seekAhead is seek for an index past the entry the reader is at (valid
// is what the last positioning call returned), as when resolving
// ascending indexes: when the entry sought is among the next few, it
// steps there instead of seeking, so that resolving a page of nearby
// indexes (a page of ListChangedBlocks) costs a walk of their entries,
// not a seek each (issue 14: the seeks were half its time). Far apart
// indexes cost a seek each, as before, plus nextsBeforeSeek steps.
func (l *layoutReader) seekAhead(index int32, valid bool) bool {
	l.seekKey = appendLayoutSeek(l.seekKey[:len(l.prefix)], index, l.depth)
	return seekAhead(l.it, l.seekKey, valid)
}

// seekAhead moves it to the first key at or after key, which lies past
// the key it is at (valid is what the last positioning call returned):
// by up to nextsBeforeSeek steps, else by a seek.
func seekAhead(it *pebble.Iterator, key []byte, valid bool) bool {
	for range nextsBeforeSeek {
		if !valid || bytes.Compare(it.Key(), key) >= 0 {
			// Exhausted (the keys sought lie past the end too), or at the
			// first entry at or after the seek key: the iterator only
			// moved forward, from before it.
			return valid
		}
		valid = it.Next()
	}
	if valid && bytes.Compare(it.Key(), key) >= 0 {
		return true
	}
	return it.SeekGE(key)
}

func (l *layoutReader) inChain(id []byte) bool { return l.members[string(id)] }

// ref decodes the current entry's value.
func (l *layoutReader) ref() (store.BlockRef, error) {
	v, err := l.it.ValueAndErr()
	if err != nil {
		return store.BlockRef{}, err
	}
	ref, err := decodeRef(v)
	if err != nil {
		return store.BlockRef{}, fmt.Errorf("layout key %x: %w", l.it.Key(), err)
	}
	return ref, nil
}
