package pgmeta_test

import (
	"context"
	"testing"

	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/pgmeta"
	"github.com/ebsd/ebsd/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// harness opens stores on one fresh database, so that a second Open sees
// what the first stored.
type harness struct{ dsn string }

func (h harness) Open(ctx context.Context) (store.MetaStore, error) {
	return pgmeta.Open(ctx, pgmeta.Options{DSN: h.dsn})
}

func (harness) Close() {}

func newHarness(tb testing.TB) storetest.MetaHarness { return harness{dsn: pgtest.Start(tb)} }

func TestConformance(t *testing.T) { storetest.RunMetaStoreTests(t, newHarness) }

func BenchmarkConformance(b *testing.B) { storetest.RunMetaStoreBenchmarks(b, newHarness) }
