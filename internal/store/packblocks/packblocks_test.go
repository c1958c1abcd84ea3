package packblocks_test

import (
	"context"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
	"github.com/ebsd/ebsd/internal/store/storetest"
)

// harness opens a Store in its own temporary directory, each time in the
// same one, and corrupts blocks by flipping a byte of their data on disk.
type harness struct{ dir string }

func newHarness(tb testing.TB) storetest.BlockHarness { return harness{dir: tb.TempDir()} }

func (h harness) Open(ctx context.Context) (store.BlockStore, error) {
	return packblocks.Open(ctx, packblocks.Options{Dir: h.dir})
}

func (h harness) Close() {}

func (h harness) Corrupt(_ context.Context, key ebs.Digest) error {
	return flipDataByte(h.dir, key)
}

func TestConformance(t *testing.T) { storetest.RunBlockStoreTests(t, newHarness) }

func BenchmarkConformance(b *testing.B) { storetest.RunBlockStoreBenchmarks(b, newHarness) }
