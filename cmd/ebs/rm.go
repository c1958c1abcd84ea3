package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/ebsd/ebsd/internal/client"
)

const rmSummary = `Delete snapshots (EC2 DeleteSnapshot, one per SNAPSHOT), against ebsd or
AWS. A deleted snapshot is gone from every call; snapshots made from it
(children, copies) keep every block they read. A pending snapshot can be
deleted too, which abandons its upload.

Every SNAPSHOT is tried, and each is reported: "deleted SNAPSHOT" on
stdout, or why not on stderr; the exit code is 1 if any was not deleted.
--dry-run asks the service whether each deletion would be allowed
(DryRun), and deletes nothing.

Output: with --json, an object {"results": [...]} with snapshot_id,
deleted, dry_run and error ("" on success) per snapshot, on stdout.`

// rmResult is one snapshot's outcome in ebs rm --json.
type rmResult struct {
	SnapshotID string `json:"snapshot_id"`
	Deleted    bool   `json:"deleted"`
	DryRun     bool   `json:"dry_run"`
	Error      string `json:"error"`
}

// rmOutput is the --json result of ebs rm.
type rmOutput struct {
	Results []rmResult `json:"results"`
}

// rmFailed is the error of an rm with failures: each was reported
// already, this only sets the exit code and sums up.
type rmFailed struct{ failed, total int }

func (e *rmFailed) Error() string {
	return fmt.Sprintf("%d of %d snapshot(s) not deleted (see above)", e.failed, e.total)
}

func runRm(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var dryRun bool
	fs := newFlagSet(m, "rm", "[flags] SNAPSHOT...", rmSummary, &g)
	fs.BoolVar(&dryRun, "dry-run", false, "only check that each deletion would be allowed; delete nothing")
	ids, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usagef("expected one or more snapshot IDs")
	}
	api, err := m.ec2(ctx, &g)
	if err != nil {
		return err
	}
	s := client.NewSnapshots(api)
	out := rmOutput{Results: []rmResult{}}
	failed := 0
	var seen []string
	for _, id := range ids {
		if slices.Contains(seen, id) {
			continue // a second delete of one ID would fail for no reason
		}
		seen = append(seen, id)
		r := rmResult{SnapshotID: id, DryRun: dryRun}
		err := s.Delete(ctx, id, dryRun)
		switch {
		case err != nil:
			failed++
			r.Error = err.Error()
			fmt.Fprintf(m.Stderr, "ebs rm: %s\n", explain(err))
		case dryRun:
			if !g.JSON {
				fmt.Fprintf(m.Stdout, "would delete %s (dry run)\n", id)
			}
		default:
			r.Deleted = true
			if !g.JSON {
				fmt.Fprintf(m.Stdout, "deleted %s\n", id)
			}
		}
		out.Results = append(out.Results, r)
		if ctx.Err() != nil {
			break
		}
	}
	if g.JSON {
		if err := printJSON(m.Stdout, out); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &rmFailed{failed: failed, total: len(seen)}
	}
	return nil
}
