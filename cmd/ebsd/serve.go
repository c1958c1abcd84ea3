package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

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
	srv, err := server.Open(ctx, server.Options{
		DataDir:             cfg.DataDir,
		Credentials:         creds,
		KMSKeysFile:         cfg.KMSKeysFile,
		Region:              cfg.Region,
		PackSize:            cfg.PackSize,
		MaxPendingSnapshots: cfg.MaxPendingSnapshots,
		Logger:              logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			logger.Error("closing the stores failed", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another ebsd running? choose another address with -addr)", cfg.Addr, err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	endpoint := fmt.Sprintf("%s://%s", scheme, ln.Addr())
	printBanner(stdout, cfg, endpoint, creds, created)
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

// printBanner tells a newcomer how to talk to the server: the endpoint,
// the credentials, and an AWS CLI command to paste.
func printBanner(w io.Writer, cfg config.Config, endpoint string, creds *credentials.Store, created *credentials.Credential) {
	fmt.Fprintf(w, "ebsd is serving the EBS direct APIs at %s (region %s, data in %s)\n", endpoint, cfg.Region, cfg.DataDir)
	c := created
	if c == nil {
		all := creds.Credentials()
		if len(all) == 0 {
			return
		}
		fmt.Fprintf(w, "Credentials are in %s.\n", cfg.CredentialsFile)
		first := all[0]
		c = &credentials.Credential{AccessKeyID: first.AccessKeyID, SecretAccessKey: "<secret from that file>", AccountID: first.AccountID}
	} else {
		fmt.Fprintf(w, "Generated credentials for account %s and saved them in %s:\n", c.AccountID, cfg.CredentialsFile)
	}
	fmt.Fprintf(w, `
  export AWS_ACCESS_KEY_ID=%s
  export AWS_SECRET_ACCESS_KEY=%s
  export AWS_DEFAULT_REGION=%s
  aws ebs start-snapshot --volume-size 1 --endpoint-url %s

`, c.AccessKeyID, c.SecretAccessKey, cfg.Region, endpoint)
	if _, err := os.Stat(cfg.CredentialsFile); err != nil {
		fmt.Fprintf(w, "warning: %v\n", err)
	}
}
