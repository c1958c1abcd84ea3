package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ebsd/ebsd/internal/client"
)

const snapshotsSummary = `List your own snapshots (EC2 DescribeSnapshots with OwnerIds=self, every
page), oldest first, against ebsd or AWS. Named SNAPSHOTs list just those;
one that does not exist (or belongs to another account) is an error.

Filters narrow the list: --filter NAME=VALUE with EC2's filter names
(snapshot-id, status, description, encrypted, volume-size, volume-id,
start-time, progress, owner-id, tag:KEY, tag-key) and wildcards (* any
characters, ? one, \ escapes them); --tag KEY=VALUE is --filter
tag:KEY=VALUE, --tag KEY is --filter tag-key=KEY, --status S is --filter
status=S. Values given for one name (or tag key) match any of them;
different names must all match.

Output: a table with fixed column widths (ID, status, progress, volume
size in GiB, start time in UTC, description cut to 32 characters, tags
as k=v sorted by key); with --json, one object {"snapshots": [...]} whose
items always have every key: snapshot_id, status, status_message,
progress, volume_size_gib, start_time, completion_time (null until
completed), description, encrypted, kms_key_id, owner_id, volume_id,
full_snapshot_size_bytes and tags (an object).`

// snapshotsOutput is the --json result of ebs snapshots.
type snapshotsOutput struct {
	Snapshots []client.Snapshot `json:"snapshots"`
}

// snapshotStates are the states DescribeSnapshots reports.
var snapshotStates = []string{"pending", "completed", "error", "recoverable", "recovering"}

func runSnapshots(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var filters, tags stringsFlag
	var status string
	fs := newFlagSet(m, "snapshots", "[flags] [SNAPSHOT...]", snapshotsSummary, &g)
	fs.Var(&filters, "filter", "only snapshots whose `NAME=VALUE` matches (EC2 filter names, * and ? wildcards); repeatable")
	fs.Var(&tags, "tag", "only snapshots with the tag `KEY=VALUE` (KEY alone: with that key, any value); repeatable")
	fs.StringVar(&status, "status", "", "only snapshots in `state` pending, completed or error")
	ids, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	q, err := snapshotQuery(ids, filters, tags, status)
	if err != nil {
		return err
	}
	api, err := m.ec2(ctx, &g)
	if err != nil {
		return err
	}
	list, err := client.NewSnapshots(api).List(ctx, q)
	if err != nil {
		return err
	}
	if g.JSON {
		if list == nil {
			list = []client.Snapshot{}
		}
		return printJSON(m.Stdout, snapshotsOutput{Snapshots: list})
	}
	return snapshotTable(m.Stdout, list)
}

// snapshotQuery maps the command line onto DescribeSnapshots: named IDs,
// and filters in the order first given, the values of one name merged
// into one filter (EC2 ORs the values of a filter and ANDs filters).
func snapshotQuery(ids, filters, tags []string, status string) (client.SnapshotQuery, error) {
	q := client.SnapshotQuery{IDs: ids}
	add := func(name, value string) {
		for i := range q.Filters {
			if q.Filters[i].Name == name {
				if !slices.Contains(q.Filters[i].Values, value) {
					q.Filters[i].Values = append(q.Filters[i].Values, value)
				}
				return
			}
		}
		q.Filters = append(q.Filters, client.SnapshotFilter{Name: name, Values: []string{value}})
	}
	for _, f := range filters {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return q, usagef("--filter %q: want NAME=VALUE, e.g. status=completed or tag:env=prod", f)
		}
		add(name, value)
	}
	for _, t := range tags {
		key, value, ok := strings.Cut(t, "=")
		switch {
		case key == "":
			return q, usagef("--tag %q: want KEY=VALUE or KEY", t)
		case ok:
			add("tag:"+key, value)
		default:
			add("tag-key", key)
		}
	}
	if status != "" {
		if !slices.Contains(snapshotStates, status) {
			return q, usagef("--status %q: want one of %s", status, strings.Join(snapshotStates, ", "))
		}
		add("status", status)
	}
	return q, nil
}

// Column widths of the snapshot table: fixed, so that lines from
// different runs (and snapshots of 8- and 17-digit IDs) line up and cut
// cleanly. Only the tags, last, are as long as they are.
const (
	colID          = 22 // snap- and 17 hex digits
	colStatus      = 11 // recoverable
	colProgress    = 8  // the header; values are at most 4
	colSize        = 8  // GiB, up to 64 TiB volumes and the header
	colStart       = 20 // 2006-01-02T15:04:05Z
	colDescription = 32 // longer descriptions are cut, with …
)

// snapshotTable writes the snapshots as a table with fixed column widths.
func snapshotTable(w io.Writer, list []client.Snapshot) error {
	line := func(id, status, progress, size, start, desc, tags string) string {
		s := fmt.Sprintf("%-*s  %-*s  %*s  %*s  %-*s  %-*s  %s", colID, id, colStatus, status, colProgress, progress,
			colSize, size, colStart, start, colDescription, desc, tags)
		return strings.TrimRight(s, " ")
	}
	var b strings.Builder
	b.WriteString(line("SNAPSHOT", "STATUS", "PROGRESS", "SIZE GIB", "STARTED (UTC)", "DESCRIPTION", "TAGS") + "\n")
	for _, s := range list {
		b.WriteString(line(s.SnapshotID, s.Status, s.Progress, strconv.Itoa(int(s.VolumeSize)),
			s.StartTime.UTC().Format(time.RFC3339), cut(printable(s.Description), colDescription), tagList(s.Tags)) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tagList formats tags as k=v pairs sorted by key, separated by commas.
func tagList(tags map[string]string) string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		s = append(s, printable(k)+"="+printable(tags[k]))
	}
	return strings.Join(s, ",")
}

// printable replaces control characters (a tab or newline in a
// description would break the table's lines) with spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// cut shortens s to at most n characters, ending in … when it was cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// stringsFlag collects a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}
