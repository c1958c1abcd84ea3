package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
	"github.com/ebsd/ebsd/internal/store/pgmeta"
	"github.com/ebsd/ebsd/internal/store/s3blocks"
)

// Backends say where a server keeps its metadata and its blocks: in its
// data directory (the zero value), or in PostgreSQL and S3-compatible
// object storage, which many stateless ebsd nodes share (distributed
// mode, docs/distributed.md).
type Backends struct {
	// Meta is "" for the embedded metadata store (Pebble, in
	// <data-dir>/meta) or a postgres:// URL.
	Meta string
	// Blocks is "" for the embedded block store (pack files, in
	// <data-dir>/blocks) or s3://BUCKET[/PREFIX]. Group objects on S3
	// keep their index in PostgreSQL, so s3:// needs Meta to be one.
	Blocks string
	S3     S3Options
	// Node names this process in what it writes to shared stores (the
	// groups it uploads); default the host name and process id.
	Node string
}

// S3Options configure the S3 client of Backends.Blocks. Credentials come
// from the SDK's default chain (environment, shared files, instance role).
type S3Options struct {
	// Endpoint is the object store's URL, e.g. http://127.0.0.1:9000 for
	// MinIO; "" is the SDK's (AWS_ENDPOINT_URL_S3, else AWS).
	Endpoint string
	// PathStyle addresses buckets as endpoint/bucket rather than
	// bucket.endpoint, as MinIO and most self-hosted stores want.
	PathStyle bool
	// Region is the S3 client's region; "" is the SDK's, else us-east-1.
	Region string
}

// Distributed reports whether the metadata lives outside the data
// directory, where other nodes may share it.
func (b Backends) Distributed() bool { return b.Meta != "" }

// Check says what is wrong with b's settings, naming the flags.
func (b Backends) Check() error {
	if b.Meta != "" && !strings.HasPrefix(b.Meta, "postgres://") && !strings.HasPrefix(b.Meta, "postgresql://") {
		return fmt.Errorf("-meta %q: want a postgres:// URL (or nothing for the embedded store in the data directory)", RedactURL(b.Meta))
	}
	if b.Blocks != "" {
		if _, _, err := ParseS3URL(b.Blocks); err != nil {
			return fmt.Errorf("-blocks %w (or nothing for pack files in the data directory)", err)
		}
		if b.Meta == "" {
			return errors.New("-blocks s3://… keeps its block index in PostgreSQL next to the metadata: set -meta postgres://… too")
		}
	}
	return nil
}

// ParseS3URL splits s3://BUCKET[/PREFIX] into its bucket and prefix.
func ParseS3URL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", "", fmt.Errorf("%q: want s3://BUCKET or s3://BUCKET/PREFIX", s)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// RedactURL drops the password from a URL for messages.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// metaBackend is what the server needs of its metadata store.
type metaBackend interface {
	store.MetaStore
	store.MetaCollector
}

// blockBackend is what the server needs of its block store.
type blockBackend interface {
	store.BlockStore
	store.Collectable
}

// openStores opens the metadata and block stores that opts.Backends name.
// The embedded ones take the data directory's lock first, so that two
// servers never open one directory's stores.
func (s *Server) openStores(ctx context.Context, compression packblocks.Compression) error {
	opts := s.opts
	b := opts.Backends
	if err := b.Check(); err != nil {
		return err
	}
	if b.Meta == "" || b.Blocks == "" {
		// On a disk filled to the last byte, the lock file and the stores
		// need the reserved space to start (reserve.go).
		s.reserve = newReserve(opts.DataDir, opts.MinFreeSpace, opts.Logger)
		s.reserve.releaseIfFull("open")
		var err error
		if s.lock, err = lockDataDir(opts.DataDir); err != nil {
			return err
		}
		if err := makePrivate(ctx, opts.DataDir); err != nil {
			return err
		}
	}
	if b.Meta == "" {
		m, err := pebblemeta.Open(ctx, pebblemeta.Options{Dir: filepath.Join(opts.DataDir, "meta"),
			MinFreeBytes: opts.MinFreeSpace, Logger: opts.Logger})
		if err != nil {
			return fmt.Errorf("open metadata store in %s: %w", opts.DataDir, err)
		}
		s.pebble, s.meta = m, m
	} else {
		pool, err := pgdb.Open(ctx, b.Meta)
		if err != nil {
			return fmt.Errorf("open metadata store: %w", err)
		}
		s.pool = pool
		m, err := pgmeta.Open(ctx, pgmeta.Options{Pool: pool})
		if err != nil {
			return fmt.Errorf("open metadata store in PostgreSQL: %w", err)
		}
		s.meta = m
	}
	if b.Blocks == "" {
		p, err := openAbandoning(ctx, func() (*packblocks.Store, error) {
			return packblocks.Open(ctx, packblocks.Options{Dir: filepath.Join(opts.DataDir, "blocks"),
				PackSize: opts.PackSize, MinFreeBytes: opts.MinFreeSpace, Logger: opts.Logger, Compression: compression})
		})
		if err != nil {
			return fmt.Errorf("open block store in %s: %w", opts.DataDir, err)
		}
		s.packs, s.blocks = p, p
	} else {
		bs, err := s.openS3Blocks(ctx, compression != packblocks.CompressionOff)
		if err != nil {
			return err
		}
		s.blocks = bs
	}
	if s.reserve != nil {
		s.reserve.keep()
	}
	return nil
}

// s3IdleConns is how many idle connections to the object store a node
// keeps: about the requests one node has in flight at once (the API's
// in-flight bound, group uploads and compaction).
const s3IdleConns = 256

// NewS3Client returns an S3 client configured by o, with credentials from
// the SDK's default chain.
func NewS3Client(ctx context.Context, o S3Options) (*s3.Client, error) {
	var loadOpts []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		loadOpts = append(loadOpts, awsconfig.WithRegion(o.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("S3 client configuration: %w", err)
	}
	cfg.Region = cmp.Or(cfg.Region, "us-east-1")
	// The SDK's transport keeps 10 idle connections per host: with more
	// block reads than that in flight, every read beyond them opened a
	// TCP connection and closed it again (150-410 per GiB read).
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = s3IdleConns
		tr.MaxIdleConnsPerHost = s3IdleConns
	})
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		// Group objects are checked by their own CRCs; the SDK's line per
		// GetObject without an S3 checksum would fill the logs.
		so.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// openS3Blocks opens the block store on S3, its index in s.pool. It
// compresses new blocks under either zstd setting of -compression: it
// compresses on write only, as compacting group objects to compress them
// would cost a GET, a PUT and the egress of each.
func (s *Server) openS3Blocks(ctx context.Context, compress bool) (*s3blocks.Store, error) {
	b := s.opts.Backends
	bucket, prefix, err := ParseS3URL(b.Blocks)
	if err != nil {
		return nil, err
	}
	client, err := NewS3Client(ctx, b.S3)
	if err != nil {
		return nil, err
	}
	idx, err := s3blocks.OpenPGIndex(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("open the block index in PostgreSQL: %w", err)
	}
	node := b.Node
	if node == "" {
		host, _ := os.Hostname()
		node = fmt.Sprintf("%s-%d", cmp.Or(host, "ebsd"), os.Getpid())
	}
	bs, err := s3blocks.Open(ctx, s3blocks.Options{Client: client, Bucket: bucket, Prefix: prefix, Index: idx,
		Node: node, Compression: compress, Logger: s.opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("open block store in s3://%s/%s: %w", bucket, prefix, err)
	}
	return bs, nil
}
