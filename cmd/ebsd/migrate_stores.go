package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/ebsd/ebsd/internal/fsutil"
	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/migrate"
	"github.com/ebsd/ebsd/internal/pgdb"
	"github.com/ebsd/ebsd/internal/server"
	"github.com/ebsd/ebsd/internal/store/memstore"
	"github.com/ebsd/ebsd/internal/store/packblocks"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
	"github.com/ebsd/ebsd/internal/store/pgmeta"
	"github.com/ebsd/ebsd/internal/store/s3blocks"
)

// migrateSide is one end of a migration: a data directory (embedded), or
// PostgreSQL and S3 (distributed).
type migrateSide struct {
	name     string // "source" or "destination", for messages
	dataDir  string // embedded: the data directory
	keysFile string // embedded: its KMS keys file
	meta     string // distributed: postgres://…
	blocks   string // distributed: s3://BUCKET[/PREFIX]
}

func (s migrateSide) distributed() bool { return s.meta != "" }

func (s migrateSide) String() string {
	if s.distributed() {
		return server.RedactURL(s.meta) + " + " + s.blocks
	}
	return s.dataDir
}

// s3Options configure the S3 client of a distributed side.
type s3Options struct {
	endpoint  string
	pathStyle bool
}

// openSide opens the stores of side; close releases them, then the data
// directory's lock.
func openSide(ctx context.Context, side migrateSide, s3o s3Options, logger *slog.Logger) (st migrate.Stores, close func(), err error) {
	var closers []func()
	close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			close()
		}
	}()
	if !side.distributed() {
		if err := fsutil.MkdirAll(side.dataDir); err != nil {
			return st, nil, err
		}
		release, err := server.LockDataDir(side.dataDir)
		if err != nil {
			return st, nil, err
		}
		closers = append(closers, func() { _ = release() })
		m, err := pebblemeta.Open(ctx, pebblemeta.Options{Dir: filepath.Join(side.dataDir, "meta"), Logger: logger})
		if err != nil {
			return st, nil, fmt.Errorf("open the %s's metadata store: %w", side.name, err)
		}
		closers = append(closers, func() { _ = m.Close() })
		b, err := packblocks.Open(ctx, packblocks.Options{Dir: filepath.Join(side.dataDir, "blocks"), Logger: logger})
		if err != nil {
			return st, nil, fmt.Errorf("open the %s's block store: %w", side.name, err)
		}
		closers = append(closers, func() { _ = b.Close() })
		return migrate.Stores{Meta: m, Blocks: b}, close, nil
	}

	bucket, prefix, err := server.ParseS3URL(side.blocks)
	if err != nil {
		return st, nil, err
	}
	pool, err := pgdb.Open(ctx, side.meta)
	if err != nil {
		return st, nil, fmt.Errorf("open the %s's metadata store: %w", side.name, err)
	}
	closers = append(closers, pool.Close)
	m, err := pgmeta.Open(ctx, pgmeta.Options{Pool: pool})
	if err != nil {
		return st, nil, fmt.Errorf("open the %s's metadata store: %w", side.name, err)
	}
	closers = append(closers, func() { _ = m.Close() })
	client, err := server.NewS3Client(ctx, server.S3Options{Endpoint: s3o.endpoint, PathStyle: s3o.pathStyle})
	if err != nil {
		return st, nil, err
	}
	idx, err := s3blocks.OpenPGIndex(ctx, pool)
	if err != nil {
		return st, nil, fmt.Errorf("open the %s's block index: %w", side.name, err)
	}
	b, err := s3blocks.Open(ctx, s3blocks.Options{Client: client, Bucket: bucket, Prefix: prefix, Index: idx,
		Node: "ebsd-migrate", Logger: logger})
	if err != nil {
		return st, nil, fmt.Errorf("open the %s's block store s3://%s/%s: %w", side.name, bucket, prefix, err)
	}
	closers = append(closers, func() { _ = b.Close() })
	return migrate.Stores{Meta: m, Blocks: b}, close, nil
}

// migrateKeys moves the KMS master keys, before any snapshot: an embedded
// server keeps them in its keys file, a distributed one in the metadata
// store under keyring.Shared's secret names. Between two distributed
// sides the secrets' copy moves them (keysBySecret is true); otherwise
// they go through a Shared keyring: the destination's, or its file's
// import of the source's. It returns how many keys the source has.
func migrateKeys(ctx context.Context, from, to migrateSide, src, dst migrate.Stores, region string) (keys int, keysBySecret bool, err error) {
	if from.distributed() && to.distributed() {
		return 0, true, nil
	}
	// The source's keys as a Shared keyring, with the names of its secrets.
	var shared *keyring.Shared
	var secrets migrate.Meta = src.Meta
	var file *keyring.Keyring
	if !from.distributed() {
		if file, err = keyring.Open(from.keysFile, region); err != nil {
			return 0, false, err
		}
		if to.distributed() {
			dstShared, err := keyring.NewShared(dst.Meta, region)
			if err != nil {
				return 0, false, err
			}
			return len(file.ARNs()), false, dstShared.Import(file)
		}
		secrets = memstore.NewMeta() // the file's keys, staged as Shared's secrets
		defer secrets.Close()
	}
	if shared, err = keyring.NewShared(secrets, region); err != nil {
		return 0, false, err
	}
	if file != nil {
		if err := shared.Import(file); err != nil {
			return 0, false, err
		}
	}
	var names []string
	if err := secrets.ScanSecrets(ctx, func(name string, _ []byte) (bool, error) {
		if keyring.IsSharedSecret(name) {
			names = append(names, name)
			if strings.HasPrefix(name, "kms/key/") {
				keys++
			}
		}
		return true, nil
	}); err != nil {
		return 0, false, fmt.Errorf("list the source's KMS keys: %w", err)
	}
	dstFile, err := keyring.Open(to.keysFile, region)
	if err != nil {
		return 0, false, err
	}
	if err := dstFile.ImportShared(shared, names); err != nil {
		return 0, false, errors.Join(migrate.ErrMismatch, err)
	}
	return keys, false, nil
}
