package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ebsd/ebsd/internal/config"
	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/migrate"
)

const migrateUsage = `Usage: ebsd migrate [-data-dir DIR] -to-meta postgres://... -to-blocks s3://BUCKET[/PREFIX] [S3 flags]
       ebsd migrate -from-meta postgres://... -from-blocks s3://BUCKET[/PREFIX] -to-data-dir DIR [S3 flags]
       ebsd migrate [-data-dir DIR] -to-data-dir DIR

Copies everything a data directory holds (snapshots in every state with their
block mappings, idempotency records, usage counters, the token secret, the KMS
keys and every block) into PostgreSQL and S3-compatible object storage, or
back, or into another data directory; then checks the destination against
the source, snapshot by snapshot and block by block, and exits 1 if anything
differs. Stop the servers on both sides first: an embedded side is locked.
A migration that stopped part-way continues where it stopped when run again.

Flags:
`

// runMigrate is "ebsd migrate".
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	defaults, err := config.Parse(nil, getenv, io.Discard)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("ebsd migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, migrateUsage)
		fs.PrintDefaults()
	}
	from := migrateSide{name: "source"}
	to := migrateSide{name: "destination"}
	var s3o s3Options
	fs.StringVar(&from.dataDir, "data-dir", defaults.DataDir, "source data directory (the embedded stores)")
	fs.StringVar(&from.keysFile, "kms-keys", "", "source KMS keys file (default <data-dir>/kms-keys.json)")
	fs.StringVar(&from.meta, "from-meta", "", "source metadata in PostgreSQL, a postgres:// URL (instead of -data-dir)")
	fs.StringVar(&from.blocks, "from-blocks", "", "source blocks in S3, s3://BUCKET[/PREFIX] (with -from-meta)")
	fs.StringVar(&to.dataDir, "to-data-dir", "", "destination data directory")
	fs.StringVar(&to.keysFile, "to-kms-keys", "", "destination KMS keys file (default <to-data-dir>/kms-keys.json)")
	fs.StringVar(&to.meta, "to-meta", "", "destination metadata in PostgreSQL, a postgres:// URL")
	fs.StringVar(&to.blocks, "to-blocks", "", "destination blocks in S3, s3://BUCKET[/PREFIX] (with -to-meta)")
	fs.StringVar(&s3o.endpoint, "s3-endpoint", getenv("AWS_ENDPOINT_URL_S3"), "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default $AWS_ENDPOINT_URL_S3, else AWS)")
	fs.BoolVar(&s3o.pathStyle, "s3-path-style", false, "address buckets as ENDPOINT/BUCKET, as MinIO wants")
	region := fs.String("region", defaults.Region, "AWS Region in the ARNs of KMS keys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q (run ebsd migrate -h)", fs.Arg(0))
	}
	for _, side := range []*migrateSide{&from, &to} {
		if err := checkSide(side); err != nil {
			return err
		}
	}
	if !from.distributed() && !to.distributed() && filepath.Clean(from.dataDir) == filepath.Clean(to.dataDir) {
		return errors.New("migrate: the source and the destination are the same data directory")
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src, closeSrc, err := openSide(ctx, from, s3o, logger)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer closeSrc()
	dst, closeDst, err := openSide(ctx, to, s3o, logger)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer closeDst()
	fmt.Fprintf(stdout, "migrating %s to %s\n", from, to)

	keys, keysBySecret, err := migrateKeys(ctx, from, to, src, dst, *region)
	if err != nil {
		return fmt.Errorf("migrate: KMS keys: %w", err)
	}
	if !keysBySecret {
		fmt.Fprintf(stdout, "KMS keys: %d copied or found equal\n", keys)
	}
	opts := migrate.Options{From: src, To: dst, Progress: progressPrinter(stdout)}
	if !keysBySecret {
		opts.CopySecret = func(name string) bool { return !keyring.IsSharedSecret(name) }
	}
	start := time.Now()
	rep, err := migrate.Run(ctx, opts)
	printMigrateReport(stdout, rep, time.Since(start))
	if err != nil {
		if errors.Is(err, migrate.ErrMismatch) {
			return fmt.Errorf("%w; the destination must not be used (run ebsd migrate again after fixing the cause)", err)
		}
		return fmt.Errorf("%w (run the same command again to continue)", err)
	}
	return nil
}

// checkSide fills in side's defaults and says what is missing.
func checkSide(side *migrateSide) error {
	switch {
	case side.meta == "" && side.blocks != "":
		return fmt.Errorf("migrate: the %s's blocks in S3 keep their index in PostgreSQL: give its metadata URL too", side.name)
	case side.meta != "" && side.blocks == "":
		return fmt.Errorf("migrate: give the %s's blocks (s3://BUCKET[/PREFIX]) with its PostgreSQL URL", side.name)
	case side.meta != "":
		side.dataDir = ""
		return nil
	case side.dataDir == "":
		return fmt.Errorf("migrate: no %s: give a data directory or PostgreSQL and S3 (run ebsd migrate -h)", side.name)
	}
	if side.keysFile == "" {
		side.keysFile = filepath.Join(side.dataDir, "kms-keys.json")
	}
	return nil
}

// progressPrinter prints a line per phase at most every second, and at
// the end of each phase.
func progressPrinter(w io.Writer) func(migrate.Progress) {
	var last time.Time
	return func(p migrate.Progress) {
		if p.Done < p.Of && time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		r := p.Report
		switch p.Phase {
		case migrate.PhaseCopy:
			fmt.Fprintf(w, "copy: %d/%d snapshots (%d imported, %d there already), %d blocks put (%s)\n",
				p.Done, p.Of, r.Imported, r.Skipped, r.BlocksPut, config.FormatSize(r.BytesPut))
		case migrate.PhaseCheck:
			fmt.Fprintf(w, "check: %d/%d snapshots, %d view entries, %d blocks read back and verified, %d differences\n",
				p.Done, p.Of, r.ViewEntries, r.BlocksVerified, r.Differences)
		}
	}
}

// printMigrateReport prints the final report.
func printMigrateReport(w io.Writer, r migrate.Report, took time.Duration) {
	fmt.Fprintf(w, "copied: %d secrets, %d snapshots (%d imported, %d there already), %d mappings, %d blocks put (%s), %d blocks there already\n",
		r.Secrets, r.Snapshots, r.Imported, r.Skipped, r.Mappings, r.BlocksPut, config.FormatSize(r.BytesPut), r.BlocksHadAll)
	fmt.Fprintf(w, "checked: %d snapshots, %d view entries, %d blocks read back and verified, usage of %d accounts\n",
		r.Checked, r.ViewEntries, r.BlocksVerified, r.Owners)
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "MISMATCH %s\n", m)
	}
	if more := r.Differences - len(r.Mismatches); more > 0 {
		fmt.Fprintf(w, "... and %d more differences\n", more)
	}
	if r.Differences == 0 && r.Checked == r.Snapshots {
		fmt.Fprintf(w, "the destination equals the source (took %v)\n", took.Round(time.Millisecond))
	}
}
