package snapexport

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/nbd"
)

const blockSize = client.BlockSize

var zeroDigest = client.ZeroDigest

// Options say what to export and how.
type Options struct {
	Client     *client.Client
	SnapshotID string
	// CacheBlocks bounds the blocks kept in memory (512 KiB each); 0
	// means DefaultCacheBlocks.
	CacheBlocks int
	// ReadAhead is how many blocks past a sequential read are fetched
	// ahead of time; 0 means DefaultReadAhead, negative none.
	ReadAhead int
	// Workers bounds the read-ahead fetches in flight (the client's gate
	// bounds all fetches); 0 means 16.
	Workers int
	// Overlay, when set, makes the export writable, its writes kept in
	// this file (see overlay).
	Overlay string
	// Size is the export's size in bytes; 0 means the size of the image
	// the snapshot was uploaded from (client.ImageSize: the manifest or
	// the ebs:image-size tag), else the whole volume.
	Size int64
	// Logger, nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults.
const (
	DefaultCacheBlocks = 512 // 256 MiB
	DefaultReadAhead   = 32  // 16 MiB
)

// Export is a snapshot served as an nbd.Backend.
type Export struct {
	opts       Options
	id         string
	size       int64
	volumeGiB  int64
	sizeSource string

	blocks *blockMap
	cache  *blockCache
	reader *client.BlockReader
	ov     *overlay
	log    *slog.Logger

	bg      context.Context // read-ahead runs under it until Close
	stopBG  context.CancelFunc
	ra      chan struct{} // read-ahead slots
	raWG    sync.WaitGroup
	streams streams
	zeros   []byte // a zero block, lent by ReadSlices for what reads as zeros

	fetched, hits, readAhead atomic.Int64

	dmu     sync.Mutex
	digests map[int32][sha256.Size]byte // verified digests of the snapshot's blocks fetched
}

var (
	_ nbd.Backend     = (*Export)(nil)
	_ nbd.SliceReader = (*Export)(nil)
)

// Open prepares the export: one ListSnapshotBlocks call for the volume
// size and the first blocks, and the image size; nothing else is read
// before a client asks.
func Open(ctx context.Context, o Options) (*Export, error) {
	if o.CacheBlocks <= 0 {
		o.CacheBlocks = DefaultCacheBlocks
	}
	if o.ReadAhead == 0 {
		o.ReadAhead = DefaultReadAhead
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Read-ahead lands in the cache: a window larger than half of it
	// would evict blocks fetched ahead before they are read.
	o.ReadAhead = min(o.ReadAhead, o.CacheBlocks/2)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Export{
		opts: o, id: o.SnapshotID, log: o.Logger,
		blocks:  newBlockMap(o.Client, o.SnapshotID, o.Now),
		cache:   newBlockCache(o.CacheBlocks),
		reader:  o.Client.NewBlockReader(o.SnapshotID),
		ra:      make(chan struct{}, o.Workers),
		zeros:   make([]byte, blockSize),
		digests: map[int32][sha256.Size]byte{},
	}
	if _, _, err := e.blocks.lookup(ctx, 0, true); err != nil {
		return nil, err
	}
	if e.blocks.blocks <= 0 {
		return nil, fmt.Errorf("snapshot %s: the service gave no volume size", e.id)
	}
	e.volumeGiB = int64(e.blocks.blocks) * blockSize >> 30
	volBytes := e.volumeGiB << 30
	switch {
	case o.Size > volBytes:
		return nil, fmt.Errorf("size %d bytes is more than the snapshot's volume of %d GiB", o.Size, e.volumeGiB)
	case o.Size > 0:
		e.size, e.sizeSource = o.Size, client.SizeFromFlag
	default:
		e.size, e.sizeSource = o.Client.ImageSize(ctx, e.id, e.volumeGiB)
		if e.size <= 0 {
			e.size, e.sizeSource = volBytes, client.SizeFromVolume
		}
	}
	if o.Overlay != "" {
		ov, err := openOverlay(o.Overlay, e.id, e.size)
		if err != nil {
			return nil, err
		}
		e.ov = ov
	}
	e.bg, e.stopBG = context.WithCancel(context.WithoutCancel(ctx))
	return e, nil
}

// Size is the export's size in bytes.
func (e *Export) Size() int64 { return e.size }

// SizeSource says where the size came from (client.SizeFrom...).
func (e *Export) SizeSource() string { return e.sizeSource }

// VolumeGiB is the snapshot's volume size.
func (e *Export) VolumeGiB() int64 { return e.volumeGiB }

// Writable reports whether the export has an overlay.
func (e *Export) Writable() bool { return e.ov != nil }

// Written returns how many blocks the overlay holds (this session's and
// an earlier one's).
func (e *Export) Written() int {
	if e.ov == nil {
		return 0
	}
	return len(e.ov.blocks())
}

// ReadAt reads p at off: blocks of the overlay from it, the others from
// the snapshot, in parallel.
func (e *Export) ReadAt(ctx context.Context, p []byte, off int64) error {
	return e.read(ctx, off, int64(len(p)), func(_ int, i int32, lo, hi int64) error {
		dst := p[lo-off : hi-off]
		if e.ov != nil && e.ov.dirty(i) {
			return e.ov.readAt(dst, lo)
		}
		return e.readBase(ctx, i, dst, lo-int64(i)*blockSize)
	})
}

// ReadSlices lends the n bytes at off (nbd.SliceReader): the snapshot's
// blocks straight from the cache, zeros from a shared zero block, and
// only the overlay's blocks copied, so that a read served over NBD costs
// no copy and no buffer. The blocks lent stay held until release: their
// buffers are not reused meanwhile, even if the cache drops them.
func (e *Export) ReadSlices(ctx context.Context, off, n int64) ([][]byte, func(), error) {
	if n <= 0 {
		return nil, func() {}, nil
	}
	parts := (off+n-1)/blockSize - off/blockSize + 1
	bufs := make([][]byte, parts)
	held := make([]*cached, parts)
	release := func() {
		for _, c := range held {
			if c != nil {
				e.cache.release(c)
			}
		}
	}
	err := e.read(ctx, off, n, func(k int, i int32, lo, hi int64) error {
		if e.ov != nil && e.ov.dirty(i) {
			b := make([]byte, hi-lo)
			bufs[k] = b
			return e.ov.readAt(b, lo)
		}
		c, err := e.base(ctx, i)
		switch {
		case err != nil:
			return err
		case c == nil:
			bufs[k] = e.zeros[:hi-lo]
		case c.data == nil:
			e.cache.release(c)
			bufs[k] = e.zeros[:hi-lo]
		default:
			held[k] = c
			bo := lo - int64(i)*blockSize
			bufs[k] = c.data[bo : bo+hi-lo]
		}
		return nil
	})
	if err != nil {
		release()
		return nil, nil, err
	}
	return bufs, release, nil
}

// read runs part for each block the n bytes at off touch (its k-th, its
// index, and the byte range [lo, hi) of the export in it), in parallel,
// after starting the read-ahead of a sequential reader: at the arrival
// of its read, not at its end, so that the window is one round trip
// further ahead.
func (e *Export) read(ctx context.Context, off, n int64, part func(k int, i int32, lo, hi int64) error) error {
	if n <= 0 {
		return nil
	}
	first, last := int32(off/blockSize), int32((off+n-1)/blockSize)
	if window := e.streams.observe(off, n, e.opts.ReadAhead); window > 0 {
		e.readAheadFrom(last+1, window)
	}
	span := func(i int32) (int64, int64) {
		return max(off, int64(i)*blockSize), min(off+n, int64(i+1)*blockSize)
	}
	if first == last { // most reads: no goroutine
		lo, hi := span(first)
		return part(0, first, lo, hi)
	}
	var wg sync.WaitGroup
	errs := make([]error, last-first+1)
	for i := first; i <= last; i++ {
		lo, hi := span(i)
		wg.Go(func() { errs[i-first] = part(int(i-first), i, lo, hi) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readBase copies len(dst) bytes at offset bo of the snapshot's block i.
func (e *Export) readBase(ctx context.Context, i int32, dst []byte, bo int64) error {
	c, err := e.base(ctx, i)
	if err != nil {
		return err
	}
	if c == nil {
		clear(dst)
		return nil
	}
	defer e.cache.release(c)
	if c.data == nil {
		clear(dst)
		return nil
	}
	copy(dst, c.data[bo:])
	return nil
}

// base returns the snapshot's block i, held (release it), nil when the
// snapshot does not hold it.
func (e *Export) base(ctx context.Context, i int32) (*cached, error) {
	token, _, err := e.blocks.lookup(ctx, i, true)
	if err != nil || token == "" {
		return nil, err
	}
	if c, ok := e.cache.peek(i); ok {
		e.hits.Add(1)
		return c, nil
	}
	return e.cache.get(ctx, i, e.fetch)
}

// fetch reads the snapshot's block i into buf (a fetchFunc): with the
// token the listing gave, zeros when it holds no such block.
func (e *Export) fetch(ctx context.Context, i int32, buf []byte) ([sha256.Size]byte, error) {
	sum, _, err := e.fetchBlock(ctx, i, buf)
	return sum, err
}

// fetchBlock is fetch, which also says whether the service was asked:
// not for a block the snapshot does not hold.
func (e *Export) fetchBlock(ctx context.Context, i int32, buf []byte) (_ [sha256.Size]byte, asked bool, _ error) {
	token, _, err := e.blocks.lookup(ctx, i, true)
	if err != nil {
		return [sha256.Size]byte{}, false, err
	}
	if token == "" {
		return zeroDigest, false, nil
	}
	sum, err := e.reader.ReadBlock(ctx, i, token, buf)
	if err == nil {
		e.fetched.Add(1)
		if e.ov != nil { // for the commit: 36 bytes a block, only when writable
			e.dmu.Lock()
			e.digests[i] = sum
			e.dmu.Unlock()
		}
	}
	return sum, true, err
}

// readAheadFrom fetches up to window blocks from i on in the background,
// skipping holes and those cached, being fetched or in the overlay, as
// long as read-ahead slots are free: a sequential reader then finds its
// next blocks fetched, at the latency of one round trip for the whole
// window. Each block is claimed in the cache before its fetch starts, so
// that reads arriving meanwhile wait for that fetch instead of starting
// another.
func (e *Export) readAheadFrom(i int32, window int) {
	for j := i; j < i+int32(window) && int64(j)*blockSize < e.size; j++ {
		if e.ov != nil && e.ov.dirty(j) {
			continue
		}
		if token, known, _ := e.blocks.lookup(e.bg, j, false); known && token == "" {
			continue
		}
		if e.cache.has(j) {
			continue
		}
		select {
		case e.ra <- struct{}{}:
		default:
			return // as many blocks as allowed are being fetched ahead
		}
		c, fresh := e.cache.claim(j)
		if !fresh {
			<-e.ra
			continue
		}
		e.raWG.Go(func() {
			defer func() { <-e.ra }()
			var asked bool
			e.cache.fill(e.bg, c, func(ctx context.Context, i int32, buf []byte) ([sha256.Size]byte, error) {
				sum, a, err := e.fetchBlock(ctx, i, buf)
				asked = a
				return sum, err
			})
			if asked && c.err == nil {
				e.readAhead.Add(1)
			}
			e.cache.release(c)
		})
	}
}

// baseInto fills buf with the snapshot's block i (zeros when unwritten):
// the read of a read-modify-write.
func (e *Export) baseInto(ctx context.Context, i int32, buf []byte) error {
	return e.readBase(ctx, i, buf, 0)
}

// WriteAt writes p at off into the overlay.
func (e *Export) WriteAt(ctx context.Context, p []byte, off int64) error {
	if e.ov == nil {
		return nbd.ErrReadOnly
	}
	for len(p) > 0 {
		i, bo := int32(off/blockSize), off%blockSize
		n := min(int64(len(p)), blockSize-bo)
		if err := e.ov.write(ctx, i, bo, p[:n], e.baseInto); err != nil {
			return err
		}
		p, off = p[n:], off+n
	}
	return nil
}

// Zero makes n bytes at off read as zeros: whole blocks are zeroed in the
// overlay without writing data, parts of blocks are written.
func (e *Export) Zero(ctx context.Context, off, n int64) error {
	if e.ov == nil {
		return nbd.ErrReadOnly
	}
	var zeros []byte
	for n > 0 {
		i, bo := int32(off/blockSize), off%blockSize
		l := min(n, blockSize-bo)
		var err error
		if l == blockSize {
			err = e.ov.zeroBlock(i)
		} else {
			if zeros == nil {
				zeros = make([]byte, blockSize)
			}
			err = e.ov.write(ctx, i, bo, zeros[:l], e.baseInto)
		}
		if err != nil {
			return err
		}
		off, n = off+l, n-l
	}
	return nil
}

// Flush makes the overlay durable.
func (e *Export) Flush(ctx context.Context) error {
	if e.ov == nil {
		return nil
	}
	return e.ov.flush()
}

// BlockStatus reports the blocks the snapshot does not hold, and the
// overlay does not either, as holes that read as zeros; the rest as
// data. It lists at most once, so that a huge unlisted range costs one
// call; clients ask again from where the answer stopped.
func (e *Export) BlockStatus(ctx context.Context, off, n int64) ([]nbd.Extent, error) {
	var exts []nbd.Extent
	end := off + n
	for pos := off; pos < end; {
		i := int32(pos / blockSize)
		l := min(end, int64(i+1)*blockSize) - pos
		var flags uint32
		if e.ov == nil || !e.ov.dirty(i) {
			token, known, err := e.blocks.lookup(ctx, i, len(exts) == 0)
			if err != nil {
				return nil, err
			}
			if !known {
				break
			}
			if token == "" {
				flags = nbd.StateHole | nbd.StateZero
			} else if e.cache.zero(i) {
				flags = nbd.StateZero // a written block of zeros
			}
		}
		if k := len(exts) - 1; k >= 0 && exts[k].Flags == flags {
			exts[k].Length += l
		} else {
			exts = append(exts, nbd.Extent{Length: l, Flags: flags})
		}
		pos += l
	}
	return exts, nil
}

// Stats are counters of an export's work.
type Stats struct {
	Fetched   int64 // blocks fetched from the service
	Hits      int64 // reads served from the cache
	ReadAhead int64 // blocks fetched ahead of reads
	Pages     int   // ListSnapshotBlocks pages read
	Throttled int64
}

// Stats returns the export's counters.
func (e *Export) Stats() Stats {
	th, _ := e.reader.Throttled()
	return Stats{Fetched: e.fetched.Load(), Hits: e.hits.Load(), ReadAhead: e.readAhead.Load(), Pages: e.blocks.pages(), Throttled: th}
}

// Close stops read-ahead and closes the overlay, keeping it (flushed) for
// a later session.
func (e *Export) Close() error {
	e.stopBG()
	e.raWG.Wait()
	if e.ov == nil {
		return nil
	}
	return e.ov.close()
}
