package gc

import (
	"context"
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// TestCollectUniqueBytes checks the per-account unique bytes of the mark:
// each distinct non-zero key an account's roots map counts once for it,
// however many of its snapshots map it; a key two accounts map counts
// for both; zero blocks and purged snapshots count nothing. The metric
// shows the same.
func TestCollectUniqueBytes(t *testing.T) {
	f := &fakeStores{
		recs: []store.Snapshot{
			{ID: "a1", OwnerID: "111111111111", State: store.StateCompleted},
			{ID: "a2", OwnerID: "111111111111", State: store.StateCompleted, ParentID: "a1", Depth: 1},
			{ID: "b1", OwnerID: "222222222222", State: store.StateCompleted},
			{ID: "c1", OwnerID: "333333333333", State: store.StateDeleted},
		},
		blocks: map[string][]store.IndexedRef{
			"a1": {ref(0, 1), ref(1, 2)},
			"a2": {ref(1, 1), ref(2, 3), {Index: 3, Ref: store.BlockRef{Digest: ebs.ZeroBlockDigest, Key: key(9)}}},
			"b1": {ref(0, 1), ref(5, 4), ref(6, 4)},
			"c1": {ref(0, 5)},
		},
	}
	reg := prometheus.NewRegistry()
	c, err := New(Options{Meta: f, Blocks: f, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"111111111111": 3 * ebs.BlockSize, "222222222222": 2 * ebs.BlockSize}
	if !maps.Equal(rep.UniqueBytes, want) {
		t.Errorf("UniqueBytes = %v, want %v", rep.UniqueBytes, want)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, mf := range mfs {
		if mf.GetName() != "ebsd_account_unique_bytes" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = int64(m.GetGauge().GetValue())
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("ebsd_account_unique_bytes = %v, want %v", got, want)
	}
	if got := largest(map[string]int64{"a": 1, "b": 3, "c": 2}, 2); !maps.Equal(got, map[string]int64{"b": 3, "c": 2}) {
		t.Errorf("largest = %v", got)
	}
}
