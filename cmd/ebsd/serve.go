package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/ebsd/ebsd/internal/config"
	"github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/server"
)

// serve runs the server until ctx is done, then shuts it down gracefully.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := slog.New(cfg.SlogHandler(stderr))

	creds, created, err := credentials.LoadOrCreate(cfg.CredentialsFile)
	if err != nil {
		return err
	}
	for _, w := range creds.Warnings() {
		logger.Warn(w)
	}
	quotas, err := cfg.ThrottleQuotas()
	if err != nil {
		return err
	}
	srv, err := server.Open(ctx, server.Options{
		DataDir:             cfg.DataDir,
		Credentials:         creds,
		KMSKeysFile:         cfg.KMSKeysFile,
		Region:              cfg.Region,
		PackSize:            cfg.PackSize,
		Compression:         cfg.Compression,
		MinFreeSpace:        minFreeSpace(cfg.MinFreeSpace),
		MaxPendingSnapshots: cfg.MaxPendingSnapshots,
		StorageQuota:        cfg.StorageQuota,
		Throttle:            quotas,
		Logger:              logger,
		AccessLogLevel:      cfg.AccessLogLevel(),
		Transfer: server.TransferLimits{
			Stall: cfg.StallTimeout, MinRate: cfg.MinTransferRate, Max: cfg.TransferTimeout,
		},
		MaxInFlight: cfg.MaxInFlight,
		GC: server.GCOptions{Interval: cfg.GCInterval, MinLive: cfg.GCMinLive, CompactBytes: cfg.GCCompactBytes,
			CompactRate: cfg.GCCompactRate},
		Backends: backends(cfg),
	})
	if err != nil && ctx.Err() != nil {
		// SIGTERM or Ctrl-C while the stores open: exit now, as asked.
		logger.Info("start-up interrupted", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			logger.Error("closing the stores failed", "err", err)
		}
	}()
	defer reloadOnHangup(ctx, srv.Reload)()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another ebsd running? choose another address with -addr)", cfg.Addr, err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	endpoint := fmt.Sprintf("%s://%s", scheme, ln.Addr())
	printBanner(stdout, cfg, endpoint, created)
	logger.Info("ebsd serving", "endpoint", endpoint, "data_dir", cfg.DataDir, "region", cfg.Region)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln, cfg.TLSCert, cfg.TLSKey) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return <-errc
}

// minFreeSpace is -min-free-space for server.Options, where 0 means the
// default and a negative value turns the check off.
func minFreeSpace(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// backends returns the stores cfg names (-meta, -blocks, -s3-*).
func backends(cfg config.Config) server.Backends {
	return server.Backends{
		Meta: cfg.Meta, Blocks: cfg.Blocks, Node: cfg.Node,
		S3: server.S3Options{Endpoint: cfg.S3Endpoint, PathStyle: cfg.S3PathStyle, Region: cfg.S3Region},
	}
}
