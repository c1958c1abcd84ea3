package powerloss

import (
	"maps"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
)

// TestViews checks the model's prediction of what a snapshot reads: own
// writes over the parent's view (children, lineage copies), or over the
// source's (re-seal copies), nearest writer first.
func TestViews(t *testing.T) {
	d := func(b byte) ebs.Digest { return ebs.Digest{b} }
	frozen := map[string]*snapRecord{
		"root":   {id: "root", acked: map[int32]ebs.Digest{1: d(1), 2: d(2)}},
		"child":  {id: "child", parent: "root", acked: map[int32]ebs.Digest{2: d(20), 3: d(3)}},
		"grand":  {id: "grand", parent: "child", acked: map[int32]ebs.Digest{1: d(10)}},
		"copy":   {id: "copy", parent: "child", acked: map[int32]ebs.Digest{}},
		"reseal": {id: "reseal", copyOf: "grand", acked: map[int32]ebs.Digest{}},
		"ofcopy": {id: "ofcopy", parent: "reseal", acked: map[int32]ebs.Digest{4: d(4)}},
		"orphan": {id: "orphan", parent: "missing", acked: map[int32]ebs.Digest{}},
	}
	for _, tc := range []struct {
		id   string
		want map[int32]ebs.Digest
	}{
		{"root", map[int32]ebs.Digest{1: d(1), 2: d(2)}},
		{"child", map[int32]ebs.Digest{1: d(1), 2: d(20), 3: d(3)}},
		{"grand", map[int32]ebs.Digest{1: d(10), 2: d(20), 3: d(3)}},
		{"copy", map[int32]ebs.Digest{1: d(1), 2: d(20), 3: d(3)}},
		{"reseal", map[int32]ebs.Digest{1: d(10), 2: d(20), 3: d(3)}},
		{"ofcopy", map[int32]ebs.Digest{1: d(10), 2: d(20), 3: d(3), 4: d(4)}},
	} {
		got, err := newViews(frozen).of(tc.id)
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("view of %s = %v, %v; want %v", tc.id, got, err, tc.want)
		}
	}
	v := newViews(frozen)
	if _, err := v.of("orphan"); err == nil {
		t.Error("the view of a snapshot whose parent the ledger lacks: no error")
	}
	// A cached view is not changed by computing its descendants'.
	if _, err := v.of("grand"); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.of("root"); !maps.Equal(got, map[int32]ebs.Digest{1: d(1), 2: d(2)}) {
		t.Errorf("root's view changed to %v after its descendants' were computed", got)
	}
}
