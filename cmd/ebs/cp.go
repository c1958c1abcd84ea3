package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ebsd/ebsd/internal/client"
)

const cpSummary = `Copy a snapshot within its region (EC2 CopySnapshot), against ebsd or AWS,
and print the copy's ID on stdout. The copy starts pending; --wait waits
until it is completed (EC2's SnapshotCompleted waiter: DescribeSnapshots
until the copy is completed, failing at once if it goes to error).

The copy has only the --description and --tag flags given here: neither
the source's description nor its tags are copied (as on AWS), so a copy of
an 'ebs upload' has no ebs:image-size tag unless given one. The copy of an
encrypted snapshot is encrypted; --encrypted encrypts the copy of an
unencrypted one, under --kms-key-id or the account's default key.

Output: the copy's ID on stdout; with --json, an object with snapshot_id,
source_snapshot_id, status (pending, or completed after --wait) and
waited_seconds.`

// cpOutput is the --json result of ebs cp.
type cpOutput struct {
	SnapshotID       string  `json:"snapshot_id"`
	SourceSnapshotID string  `json:"source_snapshot_id"`
	Status           string  `json:"status"`
	WaitedSeconds    float64 `json:"waited_seconds"`
}

func runCp(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var in client.CopyInput
	var tags ec2TagFlag
	var wait bool
	var timeout, interval time.Duration
	fs := newFlagSet(m, "cp", "[flags] SNAPSHOT", cpSummary, &g)
	fs.StringVar(&in.Description, "description", "", "the copy's description")
	fs.BoolVar(&in.Encrypted, "encrypted", false, "encrypt the copy (a copy of an encrypted snapshot always is)")
	fs.StringVar(&in.KMSKeyID, "kms-key-id", "", "KMS `key` (ID, ARN or alias) to encrypt the copy with; needs --encrypted (default: the account's default key)")
	fs.Var(&tags, "tag", "tag `KEY=VALUE` for the copy (KEY= for an empty value); repeatable")
	fs.BoolVar(&wait, "wait", false, "wait until the copy is completed")
	fs.DurationVar(&timeout, "timeout", 30*time.Minute, "with --wait, give up after this long")
	fs.DurationVar(&interval, "interval", 2*time.Second, "with --wait, the first pause between polls (backing off to 15 s)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if in.KMSKeyID != "" && !in.Encrypted {
		return usagef("--kms-key-id needs --encrypted")
	}
	if timeout <= 0 || interval <= 0 {
		return usagef("--timeout and --interval must be positive")
	}
	in.SourceID, in.Tags = pos[0], tags.tags
	api, err := m.ec2(ctx, &g)
	if err != nil {
		return err
	}
	s := client.NewSnapshots(api)
	id, err := s.Copy(ctx, in)
	if err != nil {
		return err
	}
	out := cpOutput{SnapshotID: id, SourceSnapshotID: in.SourceID, Status: "pending"}
	if !g.JSON {
		// The ID first, so that a script has it even if the wait fails.
		fmt.Fprintln(m.Stdout, id)
	}
	if !g.Quiet {
		fmt.Fprintf(m.Stderr, "copying %s into %s\n", in.SourceID, id)
	}
	if wait {
		start := time.Now()
		if err := s.WaitCompleted(ctx, id, timeout, interval); err != nil {
			return &cpWaitError{id: id, err: err}
		}
		out.Status, out.WaitedSeconds = "completed", time.Since(start).Seconds()
		if !g.Quiet {
			fmt.Fprintf(m.Stderr, "%s is completed (waited %v)\n", id, time.Since(start).Round(time.Millisecond))
		}
	}
	if g.JSON {
		return printJSON(m.Stdout, out)
	}
	return nil
}

// cpWaitError is a wait for a copy that failed: the copy exists, and the
// user needs its ID.
type cpWaitError struct {
	id  string
	err error
}

func (e *cpWaitError) Error() string { return e.err.Error() }
func (e *cpWaitError) Unwrap() error { return e.err }
func (e *cpWaitError) Advice() string {
	return fmt.Sprintf("The copy %s exists: 'ebs snapshots %s' shows its state, 'ebs rm %s' deletes it.", e.id, e.id, e.id)
}
