package memstore_test

import (
	"context"
	"testing"

	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
	"github.com/ebsd/ebsd/internal/store/storetest"
)

// metaHarness gives each case a new Meta. It is volatile: a reopened
// store starts empty, so the suite skips its reopen cases.
type metaHarness struct{}

func (metaHarness) Open(context.Context) (store.MetaStore, error) { return memstore.NewMeta(), nil }
func (metaHarness) Close()                                        {}
func (metaHarness) Volatile() bool                                { return true }

func TestMetaConformance(t *testing.T) {
	storetest.RunMetaStoreTests(t, func(testing.TB) storetest.MetaHarness { return metaHarness{} })
}

func BenchmarkMeta(b *testing.B) {
	storetest.RunMetaStoreBenchmarks(b, func(testing.TB) storetest.MetaHarness { return metaHarness{} })
}

// blockHarness gives each case a new Blocks. It is volatile too.
type blockHarness struct{}

func (blockHarness) Open(context.Context) (store.BlockStore, error) { return memstore.NewBlocks(), nil }
func (blockHarness) Close()                                         {}
func (blockHarness) Volatile() bool                                 { return true }

func TestBlocksConformance(t *testing.T) {
	storetest.RunBlockStoreTests(t, func(testing.TB) storetest.BlockHarness { return blockHarness{} })
}

func BenchmarkBlocks(b *testing.B) {
	storetest.RunBlockStoreBenchmarks(b, func(testing.TB) storetest.BlockHarness { return blockHarness{} })
}
