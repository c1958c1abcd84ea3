package packblocks

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// fileCache keeps read-only handles of packs open for Get, least recently
// used first out. Reads use ReadAt, so one handle serves any number of
// concurrent Gets; a handle is counted while in use and closed only once
// it is both evicted and idle.
type fileCache struct {
	open func(id uint32) (vfs.File, error)
	max  int

	mu    sync.Mutex
	files map[uint32]*cachedFile
	lru   list.List // of *cachedFile, most recently used at the front
	// gone holds the packs compaction removed: they are never opened
	// again, so that no handle keeps a removed pack's blocks allocated.
	gone map[uint32]struct{}
}

type cachedFile struct {
	id      uint32
	f       vfs.File
	refs    int
	elem    *list.Element
	evicted bool
}

func newFileCache(max int, open func(uint32) (vfs.File, error)) *fileCache {
	return &fileCache{open: open, max: max, files: make(map[uint32]*cachedFile), gone: make(map[uint32]struct{})}
}

// errPackGone is acquire's error for a pack that forget removed.
var errPackGone = fmt.Errorf("pack compacted away: %w", fs.ErrNotExist)

// acquire returns an open handle of pack id; the caller must release it.
// A pack forgotten returns an error that wraps fs.ErrNotExist, as if its
// file were already removed.
func (c *fileCache) acquire(id uint32) (*cachedFile, error) {
	c.mu.Lock()
	if _, ok := c.gone[id]; ok {
		c.mu.Unlock()
		return nil, errPackGone
	}
	if cf, ok := c.files[id]; ok {
		cf.refs++
		c.lru.MoveToFront(cf.elem)
		c.mu.Unlock()
		return cf, nil
	}
	c.mu.Unlock()

	// Open outside the lock: it is a system call, and other packs' reads
	// need not wait for it.
	f, err := c.open(id)
	if err != nil {
		return nil, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.gone[id]; ok { // forgotten meanwhile
		f.Close()
		return nil, errPackGone
	}
	if cf, ok := c.files[id]; ok { // another Get opened it meanwhile
		f.Close()
		cf.refs++
		c.lru.MoveToFront(cf.elem)
		return cf, nil
	}
	cf := &cachedFile{id: id, f: f, refs: 1}
	cf.elem = c.lru.PushFront(cf)
	c.files[id] = cf
	for e := c.lru.Back(); c.lru.Len() > c.max && e != nil; {
		prev := e.Prev()
		if old := e.Value.(*cachedFile); old != cf {
			c.evictLocked(old)
		}
		e = prev
	}
	return cf, nil
}

// release ends a use of cf started by acquire.
func (c *fileCache) release(cf *cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cf.refs--
	if cf.evicted && cf.refs == 0 {
		cf.f.Close()
	}
}

func (c *fileCache) evictLocked(cf *cachedFile) {
	c.lru.Remove(cf.elem)
	delete(c.files, cf.id)
	cf.evicted = true
	if cf.refs == 0 {
		cf.f.Close()
	}
}

// forget drops pack id for good, before compaction removes its file: its
// cached handle is closed once the reads using it are done (an open handle
// of a removed file keeps its blocks allocated), and it is never opened
// again.
func (c *fileCache) forget(id uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone[id] = struct{}{}
	if cf, ok := c.files[id]; ok {
		c.evictLocked(cf)
	}
}

// len returns the number of handles cached.
func (c *fileCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// close closes every handle; no handle may be in use.
func (c *fileCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, cf := range c.files {
		errs = append(errs, cf.f.Close())
	}
	clear(c.files)
	c.lru.Init()
	return errors.Join(errs...)
}
