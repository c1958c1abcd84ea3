package s3blocks

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Finish(s3test.Run(m))) }

// harness is a bucket of its own on one of the test binary's S3 servers
// and an index, for storetest and for this package's tests.
type harness struct {
	srv    *s3test.Server
	client *s3.Client
	bucket string
	index  Index
	opts   Options
	last   *Store
}

// newHarness makes a harness over a new bucket of the default server
// (MinIO) and index.
func newHarness(tb testing.TB, index Index) *harness {
	tb.Helper()
	return newHarnessOn(tb, s3test.Start(tb), index)
}

// newHarnessOn makes a harness over a new bucket of srv and index.
func newHarnessOn(tb testing.TB, srv *s3test.Server, index Index) *harness {
	tb.Helper()
	h := &harness{srv: srv, client: srv.Client(), bucket: srv.NewBucket(tb), index: index}
	h.opts = Options{Client: h.client, Bucket: h.bucket, Prefix: "ebsd", Index: index, Node: tb.Name(),
		Logger: slog.New(slog.DiscardHandler)}
	return h
}

// pgIndex returns a PGIndex over a new database of the binary's
// throwaway PostgreSQL.
func pgIndex(tb testing.TB) *PGIndex {
	tb.Helper()
	dsn := pgtest.Start(tb)
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("pgdb.Open: %v", err)
	}
	tb.Cleanup(pool.Close)
	x, err := OpenPGIndex(ctx, pool)
	if err != nil {
		tb.Fatalf("OpenPGIndex: %v", err)
	}
	return x
}

func (h *harness) Open(ctx context.Context) (store.BlockStore, error) {
	s, err := Open(ctx, h.opts)
	if err == nil {
		h.last = s
	}
	return s, err
}

func (h *harness) Close() {}

// open opens a store and closes it when tb ends.
func (h *harness) open(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), h.opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	h.last = s
	return s
}

// Corrupt flips a byte in the middle of key's stored data, rewriting its
// group object in place (a PUT without If-None-Match).
func (h *harness) Corrupt(ctx context.Context, key ebs.Digest) error {
	loc, err := h.index.Lookup(ctx, key)
	if err != nil {
		return err
	}
	name := h.last.groupName(loc.Group)
	obj, err := h.last.objs.readRange(ctx, name, 0, -1, nil)
	if err != nil {
		return err
	}
	obj[loc.Off+pack.EntryHeaderSize+int64(loc.StoredLen)/2] ^= 0x5a
	return h.last.objs.create(ctx, name, obj, false)
}

// objectNames lists the group objects in the harness's bucket.
func (h *harness) objectNames(tb testing.TB) []string {
	tb.Helper()
	var names []string
	p := s3.NewListObjectsV2Paginator(h.client, &s3.ListObjectsV2Input{Bucket: aws.String(h.bucket), Prefix: aws.String("ebsd/groups/")})
	for p.HasMorePages() {
		page, err := p.NextPage(tb.Context())
		if err != nil {
			tb.Fatalf("list: %v", err)
		}
		for _, o := range page.Contents {
			names = append(names, *o.Key)
		}
	}
	return names
}

// setups are the object stores and indexes that the block suite and this
// package's tests run with: the default server (MinIO) with the
// PostgreSQL index (as deployed) and with the in-memory one, and
// versitygw, a second implementation of S3, with the in-memory index
// only: the index does not change what the store asks of object storage,
// and this keeps the run short.
var setups = []struct {
	name   string
	server func(testing.TB) *s3test.Server
	index  func(testing.TB) Index
}{
	{"postgres", s3test.Start, func(tb testing.TB) Index { return pgIndex(tb) }},
	{"memory", s3test.Start, func(testing.TB) Index { return newMemIndex() }},
	{"versitygw", startVersityGW, func(testing.TB) Index { return newMemIndex() }},
}

// startVersityGW returns the binary's versitygw, whatever the default
// server is.
func startVersityGW(tb testing.TB) *s3test.Server {
	tb.Helper()
	return s3test.StartEngine(tb, s3test.EngineVersityGW)
}

// TestBlockStore runs the storetest block suite against each setup.
func TestBlockStore(t *testing.T) {
	for _, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			storetest.RunBlockStoreTests(t, func(tb testing.TB) storetest.BlockHarness {
				return newHarnessOn(tb, su.server(tb), su.index(tb))
			})
		})
	}
}
