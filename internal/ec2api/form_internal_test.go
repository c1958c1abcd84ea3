package ec2api

import (
	"errors"
	"reflect"
	"testing"
)

// flat returns every key of f with its value, read back through the tree.
func flat(f *form) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, root bool, n *node)
	walk = func(prefix string, root bool, n *node) {
		if n.hasValue {
			out[prefix] = n.value
		}
		for k, c := range n.children {
			p := k
			if !root {
				p = prefix + "." + k
			}
			walk(p, false, c)
		}
	}
	walk("", true, &f.root)
	return out
}

func failureOf(t *testing.T, err error) failure {
	t.Helper()
	var l *localError
	if !errors.As(err, &l) {
		t.Fatalf("error %v is not a localError", err)
	}
	return l.f
}

// TestParseFormCaptured decodes the bodies botocore 1.43.11 and the JS SDK
// sent (docs/ec2-api.md §2.2): '+' and %20 are spaces, %2A and %3F the
// wildcards, %3A a colon, and an empty value stays present.
func TestParseFormCaptured(t *testing.T) {
	tests := []struct {
		body string
		want map[string]string
	}{
		{
			"Action=DescribeSnapshots&Version=2016-11-15&Owner.1=self&SnapshotId.1=snap-1&SnapshotId.2=snap-2" +
				"&Filter.1.Name=tag%3AName&Filter.1.Value.1=a%2A&Filter.1.Value.2=b%3F&Filter.2.Name=status" +
				"&Filter.2.Value.1=pending&MaxResults=5&NextToken=abc&DryRun=false",
			map[string]string{
				"Action": "DescribeSnapshots", "Version": "2016-11-15", "Owner.1": "self", "SnapshotId.1": "snap-1", "SnapshotId.2": "snap-2",
				"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "a*", "Filter.1.Value.2": "b?", "Filter.2.Name": "status",
				"Filter.2.Value.1": "pending", "MaxResults": "5", "NextToken": "abc", "DryRun": "false",
			},
		},
		{"Action=DeleteSnapshot&Version=2016-11-15&SnapshotId=snap-1",
			map[string]string{"Action": "DeleteSnapshot", "Version": "2016-11-15", "SnapshotId": "snap-1"}},
		{
			"Action=CreateTags&Version=2016-11-15&ResourceId.1=snap-1&ResourceId.2=snap-2&Tag.1.Key=a&Tag.1.Value=b&Tag.2.Key=e&Tag.2.Value=",
			map[string]string{"Action": "CreateTags", "Version": "2016-11-15", "ResourceId.1": "snap-1", "ResourceId.2": "snap-2",
				"Tag.1.Key": "a", "Tag.1.Value": "b", "Tag.2.Key": "e", "Tag.2.Value": ""},
		},
		{
			"Action=DeleteTags&Version=2016-11-15&ResourceId.1=snap-1&Tag.1.Key=a&Tag.2.Key=b&Tag.2.Value=&Tag.3.Key=c&Tag.3.Value=v",
			map[string]string{"Action": "DeleteTags", "Version": "2016-11-15", "ResourceId.1": "snap-1",
				"Tag.1.Key": "a", "Tag.2.Key": "b", "Tag.2.Value": "", "Tag.3.Key": "c", "Tag.3.Value": "v"},
		},
		{"Action=DeleteTags&Version=2016-11-15&ResourceId.1=snap-1",
			map[string]string{"Action": "DeleteTags", "Version": "2016-11-15", "ResourceId.1": "snap-1"}},
		{"Action=DescribeTags&Version=2016-11-15&Filter.1.Name=resource-id&Filter.1.Value.1=snap-1&MaxResults=5",
			map[string]string{"Action": "DescribeTags", "Version": "2016-11-15", "Filter.1.Name": "resource-id", "Filter.1.Value.1": "snap-1", "MaxResults": "5"}},
		{"Action=DescribeRegions&Version=2016-11-15&AllRegions=true&RegionName.1=us-east-1",
			map[string]string{"Action": "DescribeRegions", "Version": "2016-11-15", "AllRegions": "true", "RegionName.1": "us-east-1"}},
		{"Action=GetCallerIdentity&Version=2011-06-15",
			map[string]string{"Action": "GetCallerIdentity", "Version": "2011-06-15"}},
		// JS 3.1178.0: model order, %20 for a space.
		{
			"Action=DescribeSnapshots&Version=2016-11-15&MaxResults=5&Owner.1=self&SnapshotId.1=snap-1&DryRun=false" +
				"&Filter.1.Name=tag%3AName&Filter.1.Value.1=a%20b%2A&Filter.1.Value.2=x%3F",
			map[string]string{"Action": "DescribeSnapshots", "Version": "2016-11-15", "MaxResults": "5", "Owner.1": "self",
				"SnapshotId.1": "snap-1", "DryRun": "false", "Filter.1.Name": "tag:Name", "Filter.1.Value.1": "a b*", "Filter.1.Value.2": "x?"},
		},
		// Go: url.QueryEscape, '+' for a space, %2B for a plus; empty pairs skipped.
		{"A=x+y%2Bz&&B=%E2%9C%93&C", map[string]string{"A": "x y+z", "B": "✓", "C": ""}},
		{"", map[string]string{}},
	}
	for _, tt := range tests {
		f, err := parseForm([]byte(tt.body))
		if err != nil {
			t.Errorf("parseForm(%q): %v", tt.body, err)
			continue
		}
		if got := flat(f); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseForm(%q) =\n%v\nwant\n%v", tt.body, got, tt.want)
		}
	}
}

// TestParseFormRefuses: what has no single reading is refused.
func TestParseFormRefuses(t *testing.T) {
	tests := []struct {
		body string
		want failure
	}{
		{"Action=A&Action=B", fInvalidParameterValue},       // repeated key
		{"Tag.1.Key=a&Tag.1.Key=a", fInvalidParameterValue}, // repeated, same value
		{"A=%2", fMalformedQueryString},                     // short escape
		{"A=%zz", fMalformedQueryString},                    // not hex
		{"A%=1", fMalformedQueryString},                     // in a key
		{"=1", fMalformedQueryString},                       // empty key
		{"A=%FF", fInvalidParameterValue},                   // not UTF-8
		{"%FF=1", fMalformedQueryString},                    // key not UTF-8
		{"Action=DescribeTags&Action=DescribeTags", fInvalidParameterValue},
	}
	for _, tt := range tests {
		_, err := parseForm([]byte(tt.body))
		if err == nil {
			t.Errorf("parseForm(%q) succeeded", tt.body)
			continue
		}
		if got := failureOf(t, err); got != tt.want {
			t.Errorf("parseForm(%q) = %v (%v), want failure %v", tt.body, got, err, tt.want)
		}
	}
}

// TestFormAbsentVersusEmpty: DeleteTags needs "not sent" apart from
// "sent empty".
func TestFormAbsentVersusEmpty(t *testing.T) {
	f, err := parseForm([]byte("Tag.1.Key=a&Tag.2.Key=b&Tag.2.Value="))
	if err != nil {
		t.Fatal(err)
	}
	items := f.root.list("Tag")
	if len(items) != 2 {
		t.Fatalf("%d tags", len(items))
	}
	if p := items[0].ptr("Value"); p != nil {
		t.Errorf("Tag.1.Value = %q, want absent", *p)
	}
	if p := items[1].ptr("Value"); p == nil || *p != "" {
		t.Errorf("Tag.2.Value = %v, want present and empty", p)
	}
}

// TestFormListOrder: indexes are numbers. Go's SDK sorts keys as strings,
// so Filter.10 arrives before Filter.2; the list is still in numeric order,
// and gaps are allowed.
func TestFormListOrder(t *testing.T) {
	body := "SnapshotId.10=j&SnapshotId.2=b&SnapshotId.1=a&SnapshotId.11=k&SnapshotId.3=c&SnapshotId.30=z"
	f, err := parseForm([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got := f.root.strings("SnapshotId")
	want := []string{"a", "b", "c", "j", "k", "z"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SnapshotId list = %v, want %v", got, want)
	}
	if f.root.strings("Owner") != nil {
		t.Fatal("an absent list is not nil")
	}
}

func TestCheckKeys(t *testing.T) {
	patterns := []string{"Action", "Version", "SnapshotId.#", "Filter.#.Name", "Filter.#.Value.#"}
	tests := []struct {
		key  string
		want failure // numFailures: accepted
	}{
		{"Action", numFailures},
		{"SnapshotId.1", numFailures},
		{"SnapshotId.1000000", numFailures},
		{"Filter.12.Value.3", numFailures},
		{"SnapshotId", fUnknownParameter},
		{"SnapshotId.1.X", fUnknownParameter},
		{"SnapshotID.1", fUnknownParameter}, // keys are case-sensitive
		{"Filter.1", fUnknownParameter},
		{"Filter.a.Name", fUnknownParameter},
		{"Foo", fUnknownParameter},
		{"SnapshotId.0", fInvalidParameterValue},
		{"SnapshotId.01", fInvalidParameterValue},
		{"SnapshotId.1000001", fInvalidParameterValue},
		{"SnapshotId.99999999999999999999", fInvalidParameterValue},
		{"Filter.1.Value.0", fInvalidParameterValue},
		{"SnapshotId.-1", fUnknownParameter},
		{"SnapshotId.", fUnknownParameter},
	}
	for _, tt := range tests {
		err := checkKey(tt.key, patterns)
		switch {
		case tt.want == numFailures && err != nil:
			t.Errorf("checkKey(%q) = %v, want accepted", tt.key, err)
		case tt.want != numFailures && err == nil:
			t.Errorf("checkKey(%q) accepted", tt.key)
		case err != nil && failureOf(t, err) != tt.want:
			t.Errorf("checkKey(%q) = %v, want failure %v", tt.key, err, tt.want)
		}
	}
}
