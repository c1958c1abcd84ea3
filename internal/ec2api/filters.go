package ec2api

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ebsd/ebsd/internal/snapshot"
)

// Bounds of the filters of one request [I]. AWS documents none for these
// actions, but matching costs filters × values × snapshots, so a 1 MiB
// body of filter values must not buy minutes of work.
const (
	maxFilters      = 50
	maxFilterValues = 200 // per filter
)

// filter is one Filter.N of a request: values of one filter are joined
// with OR, filters with AND (docs/ec2-api.md §5.1.1).
type filter struct {
	name   string
	values []string
	pats   []pattern
}

// parseFilters reads Filter.N.Name and Filter.N.Value.M.
func parseFilters(root *node) ([]filter, error) {
	items := root.list("Filter")
	if len(items) > maxFilters {
		return nil, wireErr(fInvalidParameterValue, "The request has %d filters; at most %d are allowed.", len(items), maxFilters)
	}
	out := make([]filter, 0, len(items))
	for i, it := range items {
		name, ok := it.str("Name")
		if !ok {
			return nil, wireErr(fMissingParameter, "The request must contain the parameter Filter.%d.Name", i+1)
		}
		values := it.strings("Value")
		if len(values) == 0 {
			return nil, wireErr(fInvalidParameterValue, "The filter '%s' has no values; give it at least one.", echo(name))
		}
		if len(values) > maxFilterValues {
			return nil, wireErr(fInvalidParameterValue, "The filter '%s' has %d values; at most %d are allowed.", echo(name), len(values), maxFilterValues)
		}
		f := filter{name: name, values: values, pats: make([]pattern, len(values))}
		for j, v := range values {
			f.pats[j] = compilePattern(v)
		}
		out = append(out, f)
	}
	return out, nil
}

func errUnknownFilter(name string) error {
	return wireErr(fInvalidParameterValue, "The filter '%s' is invalid", echo(name))
}

// snapshotFields are the DescribeSnapshots filters that compare one
// field, written as on the wire, with the filter's patterns.
var snapshotFields = map[string]func(*snapshot.SnapshotInfo) string{
	"description":   func(s *snapshot.SnapshotInfo) string { return s.Description },
	"encrypted":     func(s *snapshot.SnapshotInfo) string { return strconv.FormatBool(s.Encrypted) },
	"owner-id":      func(s *snapshot.SnapshotInfo) string { return s.OwnerID },
	"progress":      func(s *snapshot.SnapshotInfo) string { return s.Progress },
	"snapshot-id":   func(s *snapshot.SnapshotInfo) string { return s.SnapshotID },
	"start-time":    func(s *snapshot.SnapshotInfo) string { return s.StartTime.UTC().Format(timeLayout) },
	"status":        func(s *snapshot.SnapshotInfo) string { return string(s.Status) },
	"storage-tier":  func(*snapshot.SnapshotInfo) string { return storageTier },
	"transfer-type": func(*snapshot.SnapshotInfo) string { return transferType },
	"volume-id":     func(s *snapshot.SnapshotInfo) string { return s.VolumeID },
	"volume-size":   func(s *snapshot.SnapshotInfo) string { return strconv.FormatInt(s.VolumeSize, 10) },
}

// snapshotPredicate returns the test of one DescribeSnapshots filter.
func snapshotPredicate(f filter) (func(*snapshot.SnapshotInfo) bool, error) {
	if key, ok := strings.CutPrefix(f.name, "tag:"); ok {
		return func(s *snapshot.SnapshotInfo) bool {
			for _, t := range s.Tags {
				if t.Key == key && matchAny(f.pats, t.Value) {
					return true
				}
			}
			return false
		}, nil
	}
	switch f.name {
	case "tag-key":
		return func(s *snapshot.SnapshotInfo) bool {
			for _, t := range s.Tags {
				if matchAny(f.pats, t.Key) {
					return true
				}
			}
			return false
		}, nil
	case "owner-alias":
		// Aliases name AWS's own accounts ("amazon"); no ebsd snapshot
		// has one.
		return func(*snapshot.SnapshotInfo) bool { return false }, nil
	}
	get, ok := snapshotFields[f.name]
	if !ok {
		return nil, errUnknownFilter(f.name)
	}
	return func(s *snapshot.SnapshotInfo) bool { return matchAny(f.pats, get(s)) }, nil
}

// selectsOwn reports whether an Owner.N or RestorableBy.N list selects the
// caller's own snapshots: "self" or the caller's account ID does. Another
// account, "amazon", or RestorableBy "all" selects snapshots ebsd never
// shows (it has no sharing), so a list of only those selects nothing
// (docs/ec2-api.md §5.1, §6).
func selectsOwn(values []string, account string) bool {
	for _, v := range values {
		if v == "self" || v == account {
			return true
		}
	}
	return false
}

// snapshotMatch builds the Match and Selection of DescribeSnapshots from
// its filters, Owner.N and RestorableBy.N. Match is nil when nothing
// narrows the listing.
func snapshotMatch(filters []filter, owners, restorable []string, account string) (func(snapshot.SnapshotInfo) bool, string, error) {
	preds := make([]func(*snapshot.SnapshotInfo) bool, 0, len(filters))
	for _, f := range filters {
		p, err := snapshotPredicate(f)
		if err != nil {
			return nil, "", err
		}
		preds = append(preds, p)
	}
	none := (owners != nil && !selectsOwn(owners, account)) || (restorable != nil && !selectsOwn(restorable, account))
	sel := selection(filters, map[string][]string{"owner": owners, "restorable-by": restorable})
	if none {
		return func(snapshot.SnapshotInfo) bool { return false }, sel, nil
	}
	if len(preds) == 0 {
		return nil, sel, nil
	}
	return func(s snapshot.SnapshotInfo) bool {
		for _, p := range preds {
			if !p(&s) {
				return false
			}
		}
		return true
	}, sel, nil
}

// tagFields are the DescribeTags filters that compare one field.
var tagFields = map[string]func(*snapshot.TagInfo) string{
	"key":           func(t *snapshot.TagInfo) string { return t.Key },
	"value":         func(t *snapshot.TagInfo) string { return t.Value },
	"resource-id":   func(t *snapshot.TagInfo) string { return t.ResourceID },
	"resource-type": func(*snapshot.TagInfo) string { return resourceTypeSnapshot },
}

// tagMatch builds the Match and Selection of DescribeTags. "tag:K" selects
// the tag K when its value matches, so it lists the tags it names, not
// every tag of the snapshots that have it [I].
func tagMatch(filters []filter) (func(snapshot.TagInfo) bool, string, error) {
	preds := make([]func(*snapshot.TagInfo) bool, 0, len(filters))
	for _, f := range filters {
		if key, ok := strings.CutPrefix(f.name, "tag:"); ok {
			preds = append(preds, func(t *snapshot.TagInfo) bool { return t.Key == key && matchAny(f.pats, t.Value) })
			continue
		}
		get, ok := tagFields[f.name]
		if !ok {
			return nil, "", errUnknownFilter(f.name)
		}
		preds = append(preds, func(t *snapshot.TagInfo) bool { return matchAny(f.pats, get(t)) })
	}
	sel := selection(filters, nil)
	if len(preds) == 0 {
		return nil, sel, nil
	}
	return func(t snapshot.TagInfo) bool {
		for _, p := range preds {
			if !p(&t) {
				return false
			}
		}
		return true
	}, sel, nil
}

// selection writes what a request selects canonically, for binding page
// tokens to it: the same filters in another order, or with their values
// in another order, select the same and give the same string; any other
// change gives another. Every piece is quoted, so no value can pass for
// a separator.
func selection(filters []filter, lists map[string][]string) string {
	parts := make([]string, 0, len(filters)+len(lists))
	for _, f := range filters {
		vs := slices.Clone(f.values)
		slices.Sort(vs)
		vs = slices.Compact(vs)
		var b strings.Builder
		b.WriteString("filter ")
		b.WriteString(strconv.Quote(f.name))
		for _, v := range vs {
			b.WriteByte(' ')
			b.WriteString(strconv.Quote(v))
		}
		parts = append(parts, b.String())
	}
	for name, vs := range lists {
		if vs == nil {
			continue
		}
		vs = slices.Clone(vs)
		slices.Sort(vs)
		vs = slices.Compact(vs)
		var b strings.Builder
		b.WriteString(name)
		for _, v := range vs {
			b.WriteByte(' ')
			b.WriteString(strconv.Quote(v))
		}
		parts = append(parts, b.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}
