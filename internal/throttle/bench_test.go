package throttle_test

import (
	"fmt"
	"testing"

	"github.com/ebsd/ebsd/internal/throttle"
)

// BenchmarkAllow measures a PutSnapshotBlock's cost in the limiter: two
// bucket lookups and two compare-and-swaps, on the real clock, from
// parallel goroutines over 64 snapshots of 4 accounts.
func BenchmarkAllow(b *testing.B) {
	for _, bc := range []struct {
		name  string
		limit throttle.Limit
	}{
		{"Admitted", throttle.Limit{Rate: throttle.MaxRate, Burst: throttle.MaxBurst}},
		{"Refused", throttle.Limit{Rate: throttle.MinRate, Burst: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var q throttle.Quotas
			for _, s := range []throttle.Scope{throttle.Account, throttle.Snapshot} {
				if err := q.Set(throttle.PutSnapshotBlock, s, bc.limit); err != nil {
					b.Fatal(err)
				}
			}
			l := throttle.New(q, nil)
			var snaps [64]string
			for i := range snaps {
				snaps[i] = fmt.Sprintf("snap-%017x", i)
			}
			accounts := [4]string{"111111111111", "222222222222", "333333333333", "444444444444"}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					l.Allow(throttle.PutSnapshotBlock, accounts[i%4], snaps[i%64])
					i++
				}
			})
		})
	}
}
