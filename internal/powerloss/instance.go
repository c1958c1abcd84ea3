package powerloss

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

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
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open opens the stores on fs, which recovers them, and finishes what a
// crash interrupted, as ebsd's start does.
func open(ctx context.Context, mem *vfs.MemFS, c *clock) (*instance, error) {
	return openKillable(ctx, mem, c, make(chan *instance, 1))
}

// openKillable is open, which also hands the instance (or nil when open
// fails) to started as soon as it exists, so that it can be killed while
// it recovers: the stores are opened one by one and each is handed over.
func openKillable(ctx context.Context, mem *vfs.MemFS, c *clock, started chan<- *instance) (*instance, error) {
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
	svc, err := snapshot.New(ctx, snapshot.Options{Meta: meta, Blocks: blocks, Now: c.now, Logger: quiet,
		MaxPendingSnapshots: 1 << 20})
	if err == nil {
		err = svc.Sweep(ctx)
	}
	if err != nil {
		blocks.Close()
		meta.Close()
		return nil, fmt.Errorf("start service: %w", err)
	}
	in.meta, in.blocks, in.svc = meta, blocks, svc
	return in, nil
}

// close releases the instance. After a cut its errors mean nothing: the
// file system it writes to is no longer the one that is checked.
func (in *instance) close() error {
	return errors.Join(in.blocks.Close(), in.meta.Close())
}
