package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"

	"github.com/ebsd/ebsd/internal/config"
	"github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/server"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// errProblems makes ebsd check exit 1 after it printed what it found.
var errProblems = errors.New("check found problems")

// openOffline opens the stores of the data directory for a maintenance
// command, under the data directory's lock, so that it never runs beside
// a server on the same directory. It serves nothing.
func openOffline(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (*server.Server, config.Config, error) {
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		return nil, cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, cfg, err
	}
	// Nobody signs in to a maintenance command: a key nobody knows stands
	// in for the credentials file, which is left alone.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, cfg, err
	}
	creds, err := credentials.New([]credentials.Credential{{
		AccessKeyID: "MAINTENANCEONLY0", SecretAccessKey: hex.EncodeToString(secret), AccountID: "000000000000",
	}})
	if err != nil {
		return nil, cfg, err
	}
	logger := slog.New(cfg.SlogHandler(stderr))
	srv, err := server.Open(ctx, server.Options{
		DataDir:      cfg.DataDir,
		Credentials:  creds,
		KMSKeysFile:  cfg.KMSKeysFile,
		Region:       cfg.Region,
		PackSize:     cfg.PackSize,
		Compression:  cfg.Compression,
		MinFreeSpace: minFreeSpace(cfg.MinFreeSpace),
		Logger:       logger,
		GC:           server.GCOptions{MinLive: cfg.GCMinLive, CompactBytes: cfg.GCCompactBytes},
		Backends:     backends(cfg),
	})
	if err != nil {
		return nil, cfg, fmt.Errorf("%s: %w", name, err)
	}
	return srv, cfg, nil
}

// runGC is "ebsd gc": one garbage collection of a data directory, offline.
func runGC(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	srv, cfg, err := openOffline(ctx, "gc", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer srv.Close()
	rep, err := srv.Collect(ctx)
	if err != nil {
		return fmt.Errorf("gc of %s: %w", cfg.DataDir, err)
	}
	fmt.Fprintf(stdout, "snapshots %d (%d kept with their blocks), %d purged\n", rep.Snapshots, rep.Roots, rep.Purged)
	fmt.Fprintf(stdout, "blocks: %d live, %d swept (%s)\n", rep.LiveKeys, rep.Sweep.Swept, config.FormatSize(rep.Sweep.SweptBytes))
	fmt.Fprintf(stdout, "packs: %d compacted, %d removed, %s copied, %s given back\n", rep.Compact.PacksCompacted,
		rep.Compact.PacksRemoved, config.FormatSize(rep.Compact.BytesCopied), config.FormatSize(max(rep.Compact.BytesReclaimed, 0)))
	fmt.Fprintf(stdout, "took %v\n", rep.Duration.Round(1e6))
	return nil
}

// runCheck is "ebsd check": verify every snapshot's blocks, offline.
func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	readData := false
	args = slices.DeleteFunc(slices.Clone(args), func(a string) bool {
		if a == "-read-data" || a == "--read-data" {
			readData = true
			return true
		}
		return false
	})
	srv, cfg, err := openOffline(ctx, "check", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer srv.Close()
	rep, err := srv.Service().Check(ctx, readData, func(p snapshot.Problem) {
		fmt.Fprintf(stdout, "PROBLEM %s\n", p)
	})
	if err != nil {
		return fmt.Errorf("check of %s could not finish: %w", cfg.DataDir, err)
	}
	what := "mappings resolved"
	if readData {
		what = fmt.Sprintf("mappings resolved, %d stored blocks read and verified", rep.UniqueReads)
	}
	fmt.Fprintf(stdout, "checked %d snapshots, %d block %s\n", rep.Snapshots, rep.Blocks, what)
	if rep.Problems > 0 {
		fmt.Fprintf(stdout, "%d problems found\n", rep.Problems)
		return errProblems
	}
	fmt.Fprintln(stdout, "no problems found")
	return nil
}

// runUsage is "ebsd usage": each account's usage of a data directory,
// offline: the bytes its snapshots wrote (what -storage-quota limits) and
// the distinct bytes they reference (a block shared by two accounts counts
// for both), measured by a mark that changes nothing.
func runUsage(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	srv, cfg, err := openOffline(ctx, "usage", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer srv.Close()
	written := map[string]int64{}
	if err := srv.Service().Usages(ctx, func(account string, bytes int64) bool {
		written[account] = bytes
		return true
	}); err != nil {
		return fmt.Errorf("usage of %s: %w", cfg.DataDir, err)
	}
	rep, err := srv.MeasureUsage(ctx)
	if err != nil {
		return fmt.Errorf("usage of %s: %w", cfg.DataDir, err)
	}
	accounts := slices.Sorted(maps.Keys(written))
	for a := range rep.UniqueBytes {
		if _, ok := written[a]; !ok {
			accounts = append(accounts, a)
		}
	}
	slices.Sort(accounts)
	fmt.Fprintf(stdout, "%-12s  %16s  %16s\n", "ACCOUNT", "WRITTEN", "UNIQUE STORED")
	for _, a := range accounts {
		fmt.Fprintf(stdout, "%-12s  %16s  %16s\n", a, config.FormatSize(written[a]), config.FormatSize(rep.UniqueBytes[a]))
	}
	fmt.Fprintf(stdout, "%d accounts, %d snapshots, %d distinct blocks referenced\n", len(accounts), rep.Snapshots, rep.LiveKeys)
	return nil
}
