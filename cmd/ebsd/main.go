// Command ebsd serves the Amazon EBS direct APIs (StartSnapshot,
// PutSnapshotBlock, CompleteSnapshot, GetSnapshotBlock, ListSnapshotBlocks,
// ListChangedBlocks) from a self-hosted, durable, deduplicating store, so
// that the official AWS SDKs and CLI work against it unmodified.
//
// Run it with no arguments to serve on 127.0.0.1:8450 with data in
// ~/.local/share/ebsd; run ebsd -h for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	restrictUmask()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "kms-key":
		err = runKMSKey(args[1:], getenv, stdout, stderr)
	case len(args) > 0 && args[0] == "credentials":
		err = runCredentials(args[1:], getenv, stdout, stderr)
	case len(args) > 0 && args[0] == "gc":
		err = runGC(ctx, args[1:], getenv, stdout, stderr)
	case len(args) > 0 && args[0] == "check":
		err = runCheck(ctx, args[1:], getenv, stdout, stderr)
	case len(args) > 0 && args[0] == "usage":
		err = runUsage(ctx, args[1:], getenv, stdout, stderr)
	case len(args) > 0 && args[0] == "migrate":
		err = runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case len(args) > 0 && isVersionFlag(args[0]):
		printVersion(stdout)
	default:
		err = serve(ctx, args, getenv, stdout, stderr)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errProblems):
		return 1 // check printed them
	default:
		fmt.Fprintf(stderr, "ebsd: %v\n", err)
		return 1
	}
}
