package nbd

import (
	"context"
	"sync"
	"sync/atomic"
)

// memBackend is an in-memory Backend whose holes are tracked per 4 KiB
// page, for the protocol tests.
type memBackend struct {
	mu      sync.Mutex
	data    []byte
	alloc   []bool // per page
	flushes atomic.Int64
	// readErr, when set, fails every read.
	readErr error
	// block, when set, is called at the start of ReadAt (tests hold a
	// read to see replies overtake it).
	block func(off int64)
}

const memPage = 4096

func newMem(size int64) *memBackend {
	return &memBackend{data: make([]byte, size), alloc: make([]bool, (size+memPage-1)/memPage)}
}

func (m *memBackend) Size() int64 { return int64(len(m.data)) }

func (m *memBackend) ReadAt(ctx context.Context, p []byte, off int64) error {
	if m.block != nil {
		m.block(off)
	}
	if m.readErr != nil {
		return m.readErr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	copy(p, m.data[off:])
	return nil
}

func (m *memBackend) WriteAt(ctx context.Context, p []byte, off int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	copy(m.data[off:], p)
	for pg := off / memPage; pg*memPage < off+int64(len(p)); pg++ {
		m.alloc[pg] = true
	}
	return nil
}

func (m *memBackend) Zero(ctx context.Context, off, n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.data[off : off+n])
	for pg := (off + memPage - 1) / memPage; (pg+1)*memPage <= off+n; pg++ {
		m.alloc[pg] = false
	}
	return nil
}

func (m *memBackend) Flush(ctx context.Context) error {
	m.flushes.Add(1)
	return nil
}

func (m *memBackend) BlockStatus(ctx context.Context, off, n int64) ([]Extent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var exts []Extent
	for pos := off; pos < off+n; {
		pg := pos / memPage
		l := min((pg+1)*memPage, int64(len(m.data))) - pos
		var f uint32
		if !m.alloc[pg] {
			f = StateHole | StateZero
		}
		if k := len(exts) - 1; k >= 0 && exts[k].Flags == f {
			exts[k].Length += l
		} else {
			exts = append(exts, Extent{Length: l, Flags: f})
		}
		pos += l
	}
	return exts, nil
}

// bytes returns a copy of the data, for tests that compare it while the
// server may still run.
func (m *memBackend) bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data...)
}

// lendingBackend is a memBackend that lends its reads (SliceReader), cut
// at page boundaries as a cache of blocks cuts them, and counts the
// loans and their releases.
type lendingBackend struct {
	*memBackend
	lent, released atomic.Int64
}

func (l *lendingBackend) ReadSlices(ctx context.Context, off, n int64) ([][]byte, func(), error) {
	if l.readErr != nil {
		return nil, nil, l.readErr
	}
	data := l.bytes()[off : off+n]
	var bufs [][]byte
	for pos := off; pos < off+n; {
		end := min((pos/memPage+1)*memPage, off+n)
		bufs = append(bufs, data[pos-off:end-off])
		pos = end
	}
	l.lent.Add(1)
	return bufs, func() { l.released.Add(1) }, nil
}
