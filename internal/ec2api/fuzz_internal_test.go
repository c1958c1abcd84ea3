package ec2api

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzForm checks parseForm against net/url, an independent decoder: on
// any body without ';' (which net/url refuses) both accept or both refuse
// bad escapes, and what parseForm accepts decodes to the same keys and
// values, each key once. It also re-encodes what it decoded and checks
// that the result parses back the same, and that checking the keys and
// walking the lists of an accepted form never panics.
func FuzzForm(f *testing.F) {
	for _, s := range []string{
		"Action=DescribeSnapshots&Version=2016-11-15&Owner.1=self&Filter.1.Name=tag%3AName&Filter.1.Value.1=a%2A",
		"Tag.1.Key=a&Tag.2.Key=b&Tag.2.Value=",
		"A=x+y%2Bz&&B=%E2%9C%93&C",
		"SnapshotId.10=j&SnapshotId.2=b",
		"A=%2", "A=1&A=2", "=", "&&&", "a.b.c=1&a.b=2",
	} {
		f.Add(s)
	}
	patterns := []string{"Action", "Version", "SnapshotId.#", "Tag.#.Key", "Tag.#.Value", "Filter.#.Name", "Filter.#.Value.#"}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseForm([]byte(body))
		if !strings.Contains(body, ";") {
			want, uerr := url.ParseQuery(body)
			switch {
			case err == nil && uerr != nil:
				t.Fatalf("parseForm accepted %q, net/url refused it: %v", body, uerr)
			case err == nil:
				flatGot := flat(got)
				if len(flatGot) != len(want) {
					t.Fatalf("%q: %d keys, net/url %d", body, len(flatGot), len(want))
				}
				for k, vs := range want {
					if len(vs) != 1 || flatGot[k] != vs[0] {
						t.Fatalf("%q: key %q = %q, net/url %q", body, k, flatGot[k], vs)
					}
				}
			}
		}
		if err != nil {
			return
		}
		// Re-encode and parse again.
		m := flat(got)
		keys := slices.Sorted(maps.Keys(m))
		var b strings.Builder
		for _, k := range keys {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(m[k]))
		}
		again, err := parseForm([]byte(b.String()))
		if err != nil {
			t.Fatalf("re-encoded %q: %v", b.String(), err)
		}
		if !maps.Equal(flat(again), m) {
			t.Fatalf("re-encoded form differs: %v vs %v", flat(again), m)
		}
		if len(got.keys) != len(m) {
			t.Fatalf("%d keys recorded, %d decoded", len(got.keys), len(m))
		}
		if got.checkKeys(patterns) == nil {
			for _, filt := range got.root.list("Filter") {
				_ = filt.strings("Value")
			}
			_ = got.root.strings("SnapshotId")
			_, _ = tagList(&got.root, "", "Tag")
			_, _ = tagSpecifications(&got.root)
			_, _ = parseFilters(&got.root)
		}
	})
}
