package powerloss

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store/packblocks"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
)

// packSize is small, so that packs rotate within a cycle and recovery
// meets many packs: the pack directory's entries are what F1 lost.
const packSize = 2 << 20

// Where the stores live on the file system. indexDir is packblocks' Pebble
// index, inside its directory.
const (
	metaDir   = "/data/meta"
	blocksDir = "/data/blocks"
	indexDir  = "/data/blocks/index"
)

// instance is one "boot" of ebsd's storage and service on a file system.
type instance struct {
	fs     *mortalFS
	meta   *pebblemeta.Store
	blocks *packblocks.Store
	svc    *snapshot.Service
	// stop ends the service's Run, which runs the copy jobs; ran is
	// closed once Run and every copy job returned.
	stop context.CancelFunc
	ran  chan struct{}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open opens the stores on fs, which recovers them, and finishes what a
// crash interrupted, as ebsd's start does.
func open(ctx context.Context, mem *vfs.MemFS, c *clock, keys snapshot.KeyProvider) (*instance, error) {
	return openKillable(ctx, mem, c, keys, make(chan *instance, 1))
}

// openKillable is open, which also hands the instance (or nil when open
// fails) to started as soon as it exists, so that it can be killed while
// it recovers: the stores are opened one by one and each is handed over.
func openKillable(ctx context.Context, mem *vfs.MemFS, c *clock, keys snapshot.KeyProvider, started chan<- *instance) (*instance, error) {
	fs := newMortalFS(mem, metaDir, indexDir)
	in := &instance{fs: fs}
	started <- in // killing in kills fs, whatever has been opened on it so far
	meta, err := pebblemeta.Open(ctx, pebblemeta.Options{Dir: metaDir, FS: fs, Logger: quiet})
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	blocks, err := packblocks.Open(ctx, packblocks.Options{Dir: blocksDir, FS: fs, PackSize: packSize, Logger: quiet})
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("open blocks: %w", err)
	}
	// The harness sweeps (timeouts) itself; Run only starts the copy jobs
	// CopySnapshot asks for, and waits for them when it returns.
	svc, err := snapshot.New(ctx, snapshot.Options{Meta: meta, Blocks: blocks, Keys: keys, Now: c.now, Logger: quiet,
		MaxPendingSnapshots: 1 << 20, SweepInterval: time.Hour})
	runCtx, stop := context.WithCancel(ctx)
	if err == nil {
		err = svc.Sweep(runCtx) // finishes completions, resumes copy jobs
	}
	if err != nil {
		stop()
		blocks.Close()
		meta.Close()
		return nil, fmt.Errorf("start service: %w", err)
	}
	in.meta, in.blocks, in.svc, in.stop, in.ran = meta, blocks, svc, stop, make(chan struct{})
	go func() {
		defer close(in.ran)
		_ = svc.Run(runCtx)
	}()
	return in, nil
}

// close releases the instance. After a cut its errors mean nothing: the
// file system it writes to is no longer the one that is checked.
func (in *instance) close() error {
	in.stop()
	<-in.ran
	return errors.Join(in.blocks.Close(), in.meta.Close())
}
