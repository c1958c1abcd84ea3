package migrate_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebsd/ebsd/internal/migrate"
	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
	"github.com/ebsd/ebsd/internal/store/memstore"
	"github.com/ebsd/ebsd/internal/store/packblocks"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
	"github.com/ebsd/ebsd/internal/store/pgmeta"
	"github.com/ebsd/ebsd/internal/store/s3blocks"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Finish(s3test.Run(m))) }

// embedded opens the stores of a data directory of t's own.
func embedded(t *testing.T) migrate.Stores {
	t.Helper()
	ctx, dir := context.Background(), t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	m, err := pebblemeta.Open(ctx, pebblemeta.Options{Dir: filepath.Join(dir, "meta"), MinFreeBytes: -1, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	b, err := packblocks.Open(ctx, packblocks.Options{Dir: filepath.Join(dir, "blocks"), MinFreeBytes: -1, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return migrate.Stores{Meta: m, Blocks: b}
}

// distributed opens stores on a database and a bucket of t's own, on the
// test binary's PostgreSQL and MinIO.
func distributed(t *testing.T) migrate.Stores {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.Start(t)
	srv := s3test.Start(t)
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	m, err := pgmeta.Open(ctx, pgmeta.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := s3blocks.OpenPGIndex(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s3blocks.Open(ctx, s3blocks.Options{Client: srv.Client(), Bucket: srv.NewBucket(t), Prefix: "ebsd",
		Index: idx, Node: "migrate-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Stores close before the pool (cleanups run last first).
	t.Cleanup(func() { _ = b.Close(); _ = m.Close() })
	return migrate.Stores{Meta: m, Blocks: b}
}

// TestMigrateThroughBackends moves the fixture (every record state,
// lineage through a tombstone, encryption, idempotency, secrets) from
// memory into a backend's stores and from there into memory again: each
// backend's ImportSnapshot and ScanSecrets must carry everything both
// ways, as the check after each hop and the comparison with the fixture
// say.
func TestMigrateThroughBackends(t *testing.T) {
	cases := []struct {
		name string
		open func(*testing.T) migrate.Stores
	}{
		{"pebblemeta+packblocks", embedded},
		{"pgmeta+s3blocks", distributed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			src := newFixture(t)
			mid := tc.open(t)
			rep, err := migrate.Run(ctx, migrate.Options{From: stores(src.meta, src.blocks), To: mid})
			if err != nil {
				t.Fatalf("into %s: %v %q", tc.name, err, rep.Mismatches)
			}
			last := stores(memstore.NewMeta(), memstore.NewBlocks())
			rep, err = migrate.Run(ctx, migrate.Options{From: mid, To: last})
			if err != nil {
				t.Fatalf("out of %s: %v %q", tc.name, err, rep.Mismatches)
			}
			if rep.Imported != rep.Snapshots || rep.Secrets != 2 || rep.BlocksVerified == 0 {
				t.Errorf("out of %s: %+v", tc.name, rep)
			}
			// And the end compares equal with the start, by the check
			// that TestMigrateCheckFindsDifferences shows can fail.
			rep, err = migrate.Run(ctx, migrate.Options{From: stores(src.meta, src.blocks), To: last})
			if err != nil || rep.Imported != 0 {
				t.Fatalf("start against end: %v, %d imported, %q", err, rep.Imported, rep.Mismatches)
			}
		})
	}
}
