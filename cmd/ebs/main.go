// Command ebs uploads disk images into EBS snapshots and downloads them
// back through the EBS direct APIs, and finds, tags, copies and deletes
// snapshots through the EC2 API, against ebsd (--endpoint-url) or real
// AWS (the default credential chain and region).
//
//	ebs upload IMAGE                 image -> new snapshot (prints its ID)
//	ebs upload --parent SNAP IMAGE   incremental: only blocks that differ
//	ebs upload --resume SNAP IMAGE   continue an interrupted upload
//	ebs download SNAP FILE           snapshot -> sparse file or device
//	ebs diff SNAP1 SNAP2             changed blocks between two snapshots
//	ebs nbd SNAP                     serve a snapshot over NBD (qemu, nbdinfo, nbd-client)
//	ebs ls SNAP                      blocks of a snapshot
//	ebs info SNAP | ebs wait SNAP
//	ebs snapshots [--tag K=V] [SNAP...]  your snapshots (EC2 DescribeSnapshots)
//	ebs tag SNAP K=V... [--delete K]     set or delete tags
//	ebs cp SNAP                      copy a snapshot (prints the copy's ID)
//	ebs rm SNAP...                   delete snapshots
//
// Run ebs COMMAND -h for a command's flags.
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

	"github.com/ebsd/ebsd/internal/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Main runs ebs; tests run it without a process.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// NewAPI, when set, replaces the SDK client (tests inject faults).
	NewAPI func(ctx context.Context, g *Globals) (apiClient, error)
	// NewEC2API, when set, replaces the EC2 SDK client. When only NewAPI
	// is set, commands that merely benefit from the EC2 API (the image
	// size tag of info and download) go without it.
	NewEC2API func(ctx context.Context, g *Globals) (client.EC2API, error)
}

// command is one verb of ebs.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, m *Main, args []string) error
}

func (m *Main) commands() []command {
	return []command{
		{"upload", "[flags] IMAGE", "upload a raw disk image (file or block device) into a new snapshot", runUpload},
		{"download", "[flags] SNAPSHOT FILE", "download a snapshot into a sparse file or a block device", runDownload},
		{"diff", "[flags] SNAPSHOT1 SNAPSHOT2", "list the blocks that differ between two snapshots of one lineage", runDiff},
		{"nbd", "[flags] SNAPSHOT", "serve a snapshot as a block device over NBD, read-only or with writes saved as a child snapshot", runNbd},
		{"ls", "[flags] SNAPSHOT", "list the written blocks of a snapshot", runLs},
		{"info", "[flags] SNAPSHOT", "show a snapshot's size and block count", runInfo},
		{"wait", "[flags] SNAPSHOT", "wait until a snapshot is completed and readable", runWait},
		{"snapshots", "[flags] [SNAPSHOT...]", "list your snapshots, with filters and tags (EC2 API)", runSnapshots},
		{"tag", "[flags] SNAPSHOT [KEY=VALUE...] [--delete KEY[=VALUE]...]", "add, change or delete a snapshot's tags (EC2 API)", runTag},
		{"cp", "[flags] SNAPSHOT", "copy a snapshot within its region; prints the copy's ID (EC2 API)", runCp},
		{"rm", "[flags] SNAPSHOT...", "delete snapshots (EC2 API)", runRm},
	}
}

const usageHead = `ebs moves disk images in and out of Amazon EBS snapshots through the EBS direct
APIs, and lists, tags, copies and deletes snapshots through the EC2 API, against
real AWS or a self-hosted ebsd (--endpoint-url).

Usage: ebs COMMAND [flags] ARGS

Commands:
`

// Run runs one command line and returns the exit code: 0 success, 1
// failure, 2 usage error.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		m.usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if isVersionFlag(args[0]) {
		printVersion(m.Stdout)
		return 0
	}
	for _, c := range m.commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, m, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(*usageError)):
			fmt.Fprintf(m.Stderr, "ebs %s: %v\nRun 'ebs %s -h' for help.\n", c.name, err, c.name)
			return 2
		default:
			fmt.Fprintf(m.Stderr, "ebs %s: %s\n", c.name, explain(err))
			return 1
		}
	}
	fmt.Fprintf(m.Stderr, "ebs: unknown command %q\n\n", args[0])
	m.usage()
	return 2
}

func (m *Main) usage() {
	fmt.Fprint(m.Stderr, usageHead)
	for _, c := range m.commands() {
		fmt.Fprintf(m.Stderr, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(m.Stderr, "\nRun 'ebs COMMAND -h' for a command's flags, 'ebs --version' for the version.\n")
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }
