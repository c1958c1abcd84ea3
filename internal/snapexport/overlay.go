package snapexport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// overlay holds the writes of a writable export: a sparse file the size of
// the export (rounded up to whole blocks), where every block written so
// far is stored whole, and a map file with a bitmap of those blocks.
//
// The bitmap is persisted on every flush, after the data file is synced,
// so a crash keeps every write a flush acknowledged (what NBD_CMD_FLUSH
// promises) and a set bit always has its block's data on disk: a later
// session with the same overlay continues from there. Writes after the
// last flush may be lost, as on any disk with a write cache. Persisting
// was chosen over a throw-away temporary file because a session may last
// days (a mounted file system being repaired) and its writes are the
// user's work; the cost is one bitmap write (1 bit a block: 256 KiB for
// 1 TiB) per flush that follows a write to a new block.
//
// Blocks are stored whole: the first write to a block reads the
// snapshot's block into it (read-modify-write) unless it covers the
// whole block, so that later reads and the commit need only the overlay.
type overlay struct {
	path string
	data *os.File
	mapf *os.File

	locks [64]sync.Mutex // per block (striped): one read-modify-write at a time

	mu  sync.Mutex
	bit []byte // written blocks
	gen uint64 // bumped by every newly set bit

	flushMu sync.Mutex
	flushed uint64 // gen of the bitmap on disk
}

// mapHeader is the start of the map file: magic, export size, snapshot
// ID (zero padded); the bitmap follows.
const (
	mapMagic      = "EBSNBDO1"
	mapHeaderSize = 64
	maxIDLen      = mapHeaderSize - 16
)

// MapPath is the map file of the overlay at path.
func MapPath(path string) string { return path + ".map" }

// openOverlay opens the overlay at path for snapshot id exported with
// size bytes, or creates it. An existing overlay of another snapshot or
// size is refused, and so is a data file without its map: it may be
// anything.
func openOverlay(path, id string, size int64) (*overlay, error) {
	if len(id) > maxIDLen {
		return nil, fmt.Errorf("overlay: snapshot ID %q too long", id)
	}
	blocks := (size + blockSize - 1) / blockSize
	o := &overlay{path: path, bit: make([]byte, (blocks+7)/8)}
	header := make([]byte, mapHeaderSize)
	copy(header, mapMagic)
	binary.BigEndian.PutUint64(header[8:], uint64(size))
	copy(header[16:], id)

	old, err := os.ReadFile(MapPath(path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := fsutil.MkdirAll(filepath.Dir(path)); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fsutil.FileMode)
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("overlay %s exists but its map %s does not: it is not an overlay of ebs nbd (remove it, or choose another --overlay)", path, MapPath(path))
		}
		if err != nil {
			return nil, fmt.Errorf("overlay: %w", err)
		}
		o.data = f
		if err := f.Truncate(blocks * blockSize); err != nil {
			return nil, o.abandon(fmt.Errorf("overlay: %w", err))
		}
		if err := fsutil.CreateFile(MapPath(path), append(header, o.bit...)); err != nil {
			return nil, o.abandon(fmt.Errorf("overlay map: %w", err))
		}
	case err != nil:
		return nil, fmt.Errorf("overlay map: %w", err)
	default:
		if len(old) != len(header)+len(o.bit) || !bytes.Equal(old[:mapHeaderSize], header) {
			oldID := ""
			if len(old) >= mapHeaderSize {
				oldID = string(bytes.TrimRight(old[16:mapHeaderSize], "\x00"))
			}
			return nil, fmt.Errorf("overlay %s is of snapshot %q with another size, not of %s (%d bytes): remove %s and %s, or choose another --overlay",
				path, oldID, id, size, path, MapPath(path))
		}
		copy(o.bit, old[mapHeaderSize:])
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("overlay: %w", err)
		}
		o.data = f
	}
	mapf, err := os.OpenFile(MapPath(path), os.O_RDWR, 0)
	if err != nil {
		o.data.Close()
		return nil, fmt.Errorf("overlay map: %w", err)
	}
	o.mapf = mapf
	return o, nil
}

// abandon closes and removes a half-created overlay.
func (o *overlay) abandon(err error) error {
	o.data.Close()
	os.Remove(o.path)
	return err
}

// dirty reports whether block i is in the overlay.
func (o *overlay) dirty(i int32) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return int(i/8) < len(o.bit) && o.bit[i/8]&(1<<(i%8)) != 0
}

func (o *overlay) setDirty(i int32) {
	o.mu.Lock()
	o.bit[i/8] |= 1 << (i % 8)
	o.gen++
	o.mu.Unlock()
}

// blocks returns the written blocks, ascending.
func (o *overlay) blocks() []int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []int32
	for k, b := range o.bit {
		for j := range 8 {
			if b&(1<<j) != 0 {
				out = append(out, int32(k*8+j))
			}
		}
	}
	return out
}

// readAt reads from the overlay's copy of the blocks p covers.
func (o *overlay) readAt(p []byte, off int64) error {
	if _, err := o.data.ReadAt(p, off); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	return nil
}

// write writes p at offset bo of block i. When the block is not in the
// overlay yet and p does not cover it whole, base fills a buffer with
// the snapshot's block first.
func (o *overlay) write(ctx context.Context, i int32, bo int64, p []byte, base func(ctx context.Context, i int32, buf []byte) error) error {
	l := &o.locks[i%int32(len(o.locks))]
	l.Lock()
	defer l.Unlock()
	off := int64(i)*blockSize + bo
	if o.dirty(i) || (bo == 0 && len(p) == blockSize) {
		if _, err := o.data.WriteAt(p, off); err != nil {
			return fmt.Errorf("overlay: %w", err)
		}
	} else {
		buf := make([]byte, blockSize)
		if err := base(ctx, i, buf); err != nil {
			return err
		}
		copy(buf[bo:], p)
		if _, err := o.data.WriteAt(buf, int64(i)*blockSize); err != nil {
			return fmt.Errorf("overlay: %w", err)
		}
	}
	if !o.dirty(i) {
		o.setDirty(i)
	}
	return nil
}

// zeroBlock makes block i all zeros in the overlay, without storing the
// zeros where the file system can punch a hole.
func (o *overlay) zeroBlock(i int32) error {
	l := &o.locks[i%int32(len(o.locks))]
	l.Lock()
	defer l.Unlock()
	if err := punchHole(o.data, int64(i)*blockSize, blockSize); err != nil {
		if _, err := o.data.WriteAt(make([]byte, blockSize), int64(i)*blockSize); err != nil {
			return fmt.Errorf("overlay: %w", err)
		}
	}
	if !o.dirty(i) {
		o.setDirty(i)
	}
	return nil
}

// flush makes every write so far durable: the data first, then the
// bitmap that points at it.
func (o *overlay) flush() error {
	o.flushMu.Lock()
	defer o.flushMu.Unlock()
	o.mu.Lock()
	gen, bit := o.gen, slices.Clone(o.bit)
	o.mu.Unlock()
	if err := o.data.Sync(); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	if gen == o.flushed {
		return nil
	}
	if _, err := o.mapf.WriteAt(bit, mapHeaderSize); err != nil {
		return fmt.Errorf("overlay map: %w", err)
	}
	if err := o.mapf.Sync(); err != nil {
		return fmt.Errorf("overlay map: %w", err)
	}
	o.flushed = gen
	return nil
}

// close flushes and closes the overlay, keeping it for a later session.
func (o *overlay) close() error {
	err := o.flush()
	return errors.Join(err, o.data.Close(), o.mapf.Close())
}

// remove closes the overlay and deletes its files (after a commit).
func (o *overlay) remove() error {
	err := errors.Join(o.data.Close(), o.mapf.Close(), os.Remove(MapPath(o.path)), os.Remove(o.path))
	return errors.Join(err, fsutil.SyncDir(filepath.Dir(o.path)))
}
