package ec2api

import (
	"strconv"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

func filtersOf(t *testing.T, body string) []filter {
	t.Helper()
	f, err := parseForm([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := parseFilters(&f.root)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestSnapshotFilters checks each filter name of §5.1.1 and the rules that
// join them: OR within a filter, AND across, Owner.N and RestorableBy.N.
func TestSnapshotFilters(t *testing.T) {
	const acct = "111111111111"
	s := snapshot.SnapshotInfo{
		SnapshotID: "snap-0dc8cbb74ea020f7c", OwnerID: acct, VolumeID: "vol-ffffffff", Status: ebs.StatusCompleted,
		Progress: "100%", StartTime: time.Date(2026, 9, 25, 15, 19, 43, 497e6, time.UTC), VolumeSize: 8,
		Description: "nightly *backup*", Encrypted: true, Tags: []ebs.Tag{{Key: "Name", Value: "web-1"}, {Key: "env", Value: ""}},
	}
	tests := []struct {
		body       string
		owners     []string
		restorable []string
		want       bool
	}{
		{"", nil, nil, true},
		{"Filter.1.Name=status&Filter.1.Value.1=completed", nil, nil, true},
		{"Filter.1.Name=status&Filter.1.Value.1=pending", nil, nil, false},
		{"Filter.1.Name=status&Filter.1.Value.1=pending&Filter.1.Value.2=completed", nil, nil, true},                      // OR
		{"Filter.1.Name=status&Filter.1.Value.1=completed&Filter.2.Name=volume-size&Filter.2.Value.1=9", nil, nil, false}, // AND
		{"Filter.1.Name=status&Filter.1.Value.1=completed&Filter.2.Name=volume-size&Filter.2.Value.1=8", nil, nil, true},
		{"Filter.1.Name=snapshot-id&Filter.1.Value.1=snap-0dc8*", nil, nil, true},
		{"Filter.1.Name=owner-id&Filter.1.Value.1=" + acct, nil, nil, true},
		{"Filter.1.Name=owner-alias&Filter.1.Value.1=*", nil, nil, false},
		{"Filter.1.Name=volume-id&Filter.1.Value.1=vol-ffffffff", nil, nil, true},
		{"Filter.1.Name=progress&Filter.1.Value.1=100%25", nil, nil, true},
		{"Filter.1.Name=encrypted&Filter.1.Value.1=true", nil, nil, true},
		{"Filter.1.Name=encrypted&Filter.1.Value.1=false", nil, nil, false},
		{"Filter.1.Name=start-time&Filter.1.Value.1=2026-09-*", nil, nil, true},
		{"Filter.1.Name=start-time&Filter.1.Value.1=2026-09-25T15:19:43.497Z", nil, nil, true},
		{"Filter.1.Name=storage-tier&Filter.1.Value.1=standard", nil, nil, true},
		{"Filter.1.Name=transfer-type&Filter.1.Value.1=time-based", nil, nil, false},
		{`Filter.1.Name=description&Filter.1.Value.1=nightly+\*backup\*`, nil, nil, true},
		{`Filter.1.Name=description&Filter.1.Value.1=nightly+\*backup`, nil, nil, false},
		{"Filter.1.Name=tag:Name&Filter.1.Value.1=web-?", nil, nil, true},
		{"Filter.1.Name=tag:Name&Filter.1.Value.1=db-*", nil, nil, false},
		{"Filter.1.Name=tag:name&Filter.1.Value.1=*", nil, nil, false}, // keys are case-sensitive
		{"Filter.1.Name=tag:env&Filter.1.Value.1=", nil, nil, true},
		{"Filter.1.Name=tag-key&Filter.1.Value.1=en*", nil, nil, true},
		{"Filter.1.Name=tag-key&Filter.1.Value.1=other", nil, nil, false},
		{"", []string{"self"}, nil, true},
		{"", []string{acct}, nil, true},
		{"", []string{"222222222222"}, nil, false},
		{"", []string{"amazon", "self"}, nil, true},
		{"", []string{"amazon"}, nil, false},
		{"", nil, []string{"self"}, true},
		{"", nil, []string{"all"}, false},
		{"", []string{"self"}, []string{"all"}, false},
		{"Filter.1.Name=status&Filter.1.Value.1=pending", []string{"self"}, nil, false},
	}
	for _, tt := range tests {
		match, _, err := snapshotMatch(filtersOf(t, tt.body), tt.owners, tt.restorable, acct)
		if err != nil {
			t.Errorf("%q: %v", tt.body, err)
			continue
		}
		got := match == nil || match(s)
		if got != tt.want {
			t.Errorf("%q owners %v restorable %v: selected %v, want %v", tt.body, tt.owners, tt.restorable, got, tt.want)
		}
	}
	if _, _, err := snapshotMatch(filtersOf(t, "Filter.1.Name=size&Filter.1.Value.1=1"), nil, nil, acct); err == nil ||
		err.Error() != "The filter 'size' is invalid" {
		t.Errorf("unknown filter: %v", err)
	}
}

func TestTagFilters(t *testing.T) {
	ti := snapshot.TagInfo{ResourceID: "snap-1", Key: "Name", Value: "web"}
	tests := []struct {
		body string
		want bool
	}{
		{"", true},
		{"Filter.1.Name=key&Filter.1.Value.1=Na*", true},
		{"Filter.1.Name=value&Filter.1.Value.1=db", false},
		{"Filter.1.Name=resource-id&Filter.1.Value.1=snap-1", true},
		{"Filter.1.Name=resource-type&Filter.1.Value.1=snapshot", true},
		{"Filter.1.Name=resource-type&Filter.1.Value.1=volume", false},
		{"Filter.1.Name=tag:Name&Filter.1.Value.1=w?b", true},
		{"Filter.1.Name=tag:Other&Filter.1.Value.1=*", false},
		{"Filter.1.Name=key&Filter.1.Value.1=Name&Filter.2.Name=value&Filter.2.Value.1=x", false},
	}
	for _, tt := range tests {
		match, _, err := tagMatch(filtersOf(t, tt.body))
		if err != nil {
			t.Errorf("%q: %v", tt.body, err)
			continue
		}
		if got := match == nil || match(ti); got != tt.want {
			t.Errorf("%q: selected %v, want %v", tt.body, got, tt.want)
		}
	}
	if _, _, err := tagMatch(filtersOf(t, "Filter.1.Name=tag-key&Filter.1.Value.1=x")); err == nil {
		t.Error("tag-key is not a DescribeTags filter, but was accepted")
	}
}

// TestSelection: the same selection in another order gives the same
// string, to which a page token is bound; any change gives another.
func TestSelection(t *testing.T) {
	sel := func(body string, owners []string) string {
		_, s, err := snapshotMatch(filtersOf(t, body), owners, nil, "111111111111")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := sel("Filter.1.Name=status&Filter.1.Value.1=pending&Filter.1.Value.2=completed&Filter.2.Name=tag:a&Filter.2.Value.1=x", []string{"self"})
	same := []string{
		sel("Filter.2.Name=status&Filter.2.Value.2=pending&Filter.2.Value.1=completed&Filter.1.Name=tag:a&Filter.1.Value.1=x", []string{"self"}),
		sel("Filter.1.Name=tag:a&Filter.1.Value.1=x&Filter.2.Name=status&Filter.2.Value.1=completed&Filter.2.Value.2=pending", []string{"self", "self"}),
	}
	for i, s := range same {
		if s != a {
			t.Errorf("same selection %d: %q != %q", i, s, a)
		}
	}
	differ := []string{
		sel("Filter.1.Name=status&Filter.1.Value.1=pending&Filter.2.Name=tag:a&Filter.2.Value.1=x", []string{"self"}),
		sel("Filter.1.Name=status&Filter.1.Value.1=pending&Filter.1.Value.2=completed&Filter.2.Name=tag:a&Filter.2.Value.1=x", nil),
		sel("Filter.1.Name=status&Filter.1.Value.1=pending&Filter.1.Value.2=completed&Filter.2.Name=tag:a&Filter.2.Value.1=y", []string{"self"}),
		sel("Filter.1.Name=status&Filter.1.Value.1=pending+completed&Filter.2.Name=tag:a&Filter.2.Value.1=x", []string{"self"}),
		sel("", nil),
	}
	for i, s := range differ {
		if s == a {
			t.Errorf("other selection %d gives the same string %q", i, s)
		}
	}
	if sel("", nil) == sel("", []string{"self"}) {
		t.Error("Owner.1=self and no Owner give the same selection")
	}
}

func TestFilterLimits(t *testing.T) {
	body := ""
	for i := 1; i <= maxFilters+1; i++ {
		body += "&Filter." + strconv.Itoa(i) + ".Name=status&Filter." + strconv.Itoa(i) + ".Value.1=x"
	}
	f, err := parseForm([]byte(body[1:]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseFilters(&f.root); err == nil {
		t.Error("51 filters accepted")
	}
	for _, body := range []string{"Filter.1.Value.1=x", "Filter.1.Name=status"} {
		f, _ := parseForm([]byte(body))
		if _, err := parseFilters(&f.root); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
}
