package pebblemeta_test

import (
	"context"
	"testing"

	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
	"github.com/ebsd/ebsd/internal/store/storetest"
)

// harness opens stores in one temporary directory, so that a second Open
// sees what the first stored.
type harness struct{ dir string }

func (h harness) Open(ctx context.Context) (store.MetaStore, error) {
	return pebblemeta.Open(ctx, pebblemeta.Options{Dir: h.dir})
}

func (harness) Close() {}

func newHarness(tb testing.TB) storetest.MetaHarness { return harness{dir: tb.TempDir()} }

func TestConformance(t *testing.T) { storetest.RunMetaStoreTests(t, newHarness) }

func BenchmarkConformance(b *testing.B) { storetest.RunMetaStoreBenchmarks(b, newHarness) }
