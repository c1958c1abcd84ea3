package server

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/fsutil"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
)

// reserveFileName is a file of zeros in the data directory that holds
// space for the stores' own writes on a disk that something else filled
// to the last byte. Pebble cannot open a database without writing (it
// flushes the log it replays, and retries forever when that fails), nor
// write its log without panicking: the block index would not open, nor
// close, on such a disk. So when less than the reserve's size is free as
// ebsd starts or stops, it deletes the reserve first (the metadata store
// opens read-only by itself), and it makes a new one once there is room
// again above the minimum free space.
const reserveFileName = "space-reserve"

// reserveCheckEvery is how often a missing reserve is looked for room.
const reserveCheckEvery = time.Second

// reserve keeps the reserve file of one data directory.
type reserve struct {
	path    string
	dir     string
	size    uint64 // 0: no reserve
	minFree uint64 // margin the stores keep free; the reserve comes on top
	log     *slog.Logger

	mu   sync.Mutex // serializes make and release
	stop context.CancelFunc
	done chan struct{}
}

// newReserve returns the reserve of dataDir: a quarter of the minimum free
// space (16 MiB by default), enough for the block index to replay its log;
// none when the checks are off.
func newReserve(dataDir string, minFree int64, log *slog.Logger) *reserve {
	if minFree == 0 {
		minFree = pebblemeta.DefaultMinFreeBytes
	}
	r := &reserve{path: filepath.Join(dataDir, reserveFileName), dir: dataDir, log: log}
	if minFree > 0 {
		r.minFree, r.size = uint64(minFree), uint64(minFree)/4
	}
	return r
}

// free returns the bytes available on the data directory's file system.
func (r *reserve) free() (uint64, error) {
	u, err := vfs.Default.GetDiskUsage(r.dir)
	return u.AvailBytes, err
}

// releaseIfFull deletes the reserve when less than its size is free, so
// that the stores can write what opening or closing them takes.
func (r *reserve) releaseIfFull(when string) {
	if r.size == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	free, err := r.free()
	if err != nil || free >= r.size {
		return
	}
	switch err := os.Remove(r.path); {
	case err == nil:
		r.log.Warn("the disk holding the data directory is full: deleted the space reserve so that the stores can "+when,
			"data_dir", r.dir, "free_bytes", free, "reserve_bytes", r.size)
	case !errors.Is(err, fs.ErrNotExist):
		r.log.Error("deleting the space reserve failed", "path", r.path, "err", err)
	}
}

// make creates the reserve when it is missing and the disk has room for
// it on top of the minimum free space.
func (r *reserve) make() {
	if r.size == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(r.path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if free, err := r.free(); err != nil || free < r.minFree+r.size {
		return
	}
	if err := fsutil.WriteFile(r.path, make([]byte, r.size)); err != nil {
		r.log.Warn("making the space reserve failed; will retry", "path", r.path, "err", err)
	}
}

// keep makes the reserve now and whenever it is missing and there is
// room, until halt.
func (r *reserve) keep() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	r.make()
	go func() {
		defer close(r.done)
		t := time.NewTicker(reserveCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.make()
			}
		}
	}()
}

// halt stops keep, if it runs.
func (r *reserve) halt() {
	if r.stop != nil {
		r.stop()
		<-r.done
		r.stop = nil
	}
}
