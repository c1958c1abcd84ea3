package throttle_test

import (
	"testing"

	"github.com/ebsd/ebsd/internal/throttle"
)

// TestAWSEC2Quotas pins the EC2 API's token buckets (docs/ec2-api.md §1):
// AWS publishes both the refill rate and the bucket size.
func TestAWSEC2Quotas(t *testing.T) {
	q := throttle.AWS()
	want := map[throttle.Op]throttle.Limit{
		throttle.DescribeSnapshots: {Rate: 20, Burst: 100},
		throttle.DescribeTags:      {Rate: 20, Burst: 100},
		throttle.DescribeRegions:   {Rate: 20, Burst: 100},
		throttle.CreateTags:        {Rate: 10, Burst: 100},
		throttle.DeleteTags:        {Rate: 10, Burst: 100},
		throttle.DeleteSnapshot:    {Rate: 5, Burst: 100},
		throttle.CopySnapshot:      {Rate: 5, Burst: 50},
	}
	for op, l := range want {
		if got := q.Limit(op, throttle.Account); got != l {
			t.Errorf("AWS %v = %+v, want %+v", op, got, l)
		}
		if got := q.Limit(op, throttle.Snapshot); got != (throttle.Limit{}) {
			t.Errorf("AWS %v per snapshot = %+v, want none", op, got)
		}
	}
	// The quota file names them like the EBS operations.
	f, err := throttle.Parse([]byte(`{"version": 1, "quotas": {"CopySnapshot": {"account": {"rate": 1}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Limit(throttle.CopySnapshot, throttle.Account); got != (throttle.Limit{Rate: 1}) {
		t.Errorf("CopySnapshot from a file = %+v", got)
	}
	if err := f.Set(throttle.CreateTags, throttle.Snapshot, throttle.Limit{Rate: 1}); err == nil {
		t.Error("a per-snapshot quota on CreateTags was accepted")
	}
}
