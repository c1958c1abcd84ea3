package throttle_test

import (
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/throttle"
)

// FuzzParse feeds quota files to Parse: it must never panic, and whatever
// it accepts must make a limiter that admits and refuses without panicking
// either, whatever the rates and bursts (the bounds on Limit are what keep
// a bucket's arithmetic within an int64).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"version": 1, "quotas": {}}`,
		`{"version": 1, "quotas": {"PutSnapshotBlock": {"snapshot": {"rate": 100, "burst": 20}, "account": {"rate": 2000}}, "ListChangedBlocks": {"account": {"rate": 0}}}}`,
		`{"version": 1, "quotas": {"GetSnapshotBlock": {"snapshot": {"rate": 0.001, "burst": 1000000}}}}`,
		`{"version": 1, "quotas": {"StartSnapshot": {"account": {"rate": 1e6}}}}`,
		`{"version": 2}`,
		`{"version": 1, "quotas": {"StartSnapshot": {"snapshot": {"rate": 1}}}}`,
		`{"version": 1, "quotas": {"PutSnapshotBlock": {"account": {"rate": -1, "burst": -5}}}}`,
	} {
		f.Add([]byte(seed))
	}
	ops := []throttle.Op{throttle.StartSnapshot, throttle.PutSnapshotBlock, throttle.CompleteSnapshot,
		throttle.GetSnapshotBlock, throttle.ListSnapshotBlocks, throttle.ListChangedBlocks}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := throttle.Parse(data)
		if err != nil {
			return
		}
		now := time.Unix(1_800_000_000, 0)
		l := throttle.New(q, func() time.Time { return now })
		for i := range 64 {
			op := ops[i%len(ops)]
			l.Allow(op, "111111111111", "snap-0123456789abcdef0")
			now = now.Add(time.Duration(i) * time.Millisecond)
		}
	})
}
