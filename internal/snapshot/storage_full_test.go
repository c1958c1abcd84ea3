package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

// failingBlocks is a BlockStore whose Put fails with err.
type failingBlocks struct {
	store.BlockStore
	err error
}

func (b failingBlocks) Put(context.Context, ebs.Digest, []byte) error { return b.err }

// failingMeta is a MetaStore whose PutBlock fails with err.
type failingMeta struct {
	store.MetaStore
	err error
}

func (m failingMeta) PutBlock(context.Context, string, int32, store.BlockRef, time.Time) error {
	return m.err
}

// spaceError stands for store.SpaceError, which knows how much space
// is left.
type spaceError struct{}

func (spaceError) Error() string        { return "the disk holding /d/meta is full" }
func (spaceError) Is(target error) bool { return target == syscall.ENOSPC }
func (spaceError) FreeSpace() string {
	return "12.0 KiB free on /d/meta, 64.0 MiB needed to accept writes"
}

// TestStorageFullIsRetryable checks that a full disk anywhere on the write
// path reaches the client as the retryable storage-full error, not as a
// bare internal error, and that other failures stay internal.
func TestStorageFullIsRetryable(t *testing.T) {
	packENOSPC := fmt.Errorf("packblocks: put x: %w",
		&os.PathError{Op: "write", Path: "/d/blocks/packs/00000001.pack", Err: syscall.ENOSPC})
	for _, tc := range []struct {
		name      string
		blocksErr error // from BlockStore.Put
		metaErr   error // from MetaStore.PutBlock
		kind      ebs.Kind
		message   string // a part of the message
	}{
		{"pack append ENOSPC", packENOSPC, nil, ebs.KindUnavailable, "(no space left on device); retry later or ask the operator to free space."},
		{"pack append EDQUOT", &os.PathError{Op: "write", Path: "/p", Err: syscall.EDQUOT}, nil, ebs.KindUnavailable, "The server's storage is full"},
		{"metadata commit ENOSPC", nil, fmt.Errorf("pebblemeta: PutBlock: %w", syscall.ENOSPC), ebs.KindUnavailable, "The server's storage is full"},
		{"store refusing writes", nil, fmt.Errorf("pebblemeta: PutBlock: %w", spaceError{}), ebs.KindUnavailable,
			"The server's storage is full (12.0 KiB free on /d/meta, 64.0 MiB needed to accept writes); retry later"},
		{"refused before the append", fmt.Errorf("server: %w", spaceError{}), nil, ebs.KindUnavailable, "12.0 KiB free on /d/meta"},
		{"object store unreachable", fmt.Errorf("s3blocks: upload group 7: %w: dial tcp: connection refused", store.ErrUnavailable), nil, ebs.KindUnavailable,
			"cannot reach its storage backend just now; retry later"},
		{"PostgreSQL restarting", nil, fmt.Errorf("pgmeta: PutBlock: %w", store.ErrUnavailable), ebs.KindUnavailable, "retry later"},
		{"I/O error", &os.PathError{Op: "write", Path: "/p", Err: syscall.EIO}, nil, ebs.KindInternal, "internal error"},
		{"other metadata error", nil, errors.New("boom"), ebs.KindInternal, "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var meta store.MetaStore = memstore.NewMeta()
			var blocks store.BlockStore = memstore.NewBlocks()
			if tc.blocksErr != nil {
				blocks = failingBlocks{blocks, tc.blocksErr}
			}
			if tc.metaErr != nil {
				meta = failingMeta{meta, tc.metaErr}
			}
			svc, err := snapshot.New(ctx, snapshot.Options{Meta: meta, Blocks: blocks, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			out, err := svc.StartSnapshot(ctx, snapshot.StartInput{AccountID: account, VolumeSize: p(int64(1))})
			if err != nil {
				t.Fatal(err)
			}
			data := payload("full")
			_, err = svc.PutSnapshotBlock(ctx, snapshot.PutBlockInput{
				AccountID: account, SnapshotID: out.SnapshotID, BlockIndex: "0",
				DataLength: p(fmt.Sprint(len(data))), Checksum: p(ebs.Sum(data).String()),
				ChecksumAlgorithm: p("SHA256"), Body: bytes.NewReader(data),
			})
			var e *ebs.Error
			if !errors.As(err, &e) {
				t.Fatalf("PutSnapshotBlock: %v, want an *ebs.Error", err)
			}
			if e.Kind != tc.kind || !strings.Contains(e.Message, tc.message) {
				t.Fatalf("PutSnapshotBlock: kind %v, message %q; want %v with %q", e.Kind, e.Message, tc.kind, tc.message)
			}
			if cause := tc.blocksErr; cause != nil && !errors.Is(err, cause) || tc.metaErr != nil && !errors.Is(err, tc.metaErr) {
				t.Errorf("the cause is lost for the log: %v", err)
			}
		})
	}
}
