package throttle

import (
	"fmt"
	"math"
)

// Op is an operation with quotas of its own.
type Op uint8

// The operations of the EBS direct APIs, then those of the EC2 Query API
// that ebsd serves (docs/ec2-api.md). New operations go at the end.
const (
	StartSnapshot Op = iota
	PutSnapshotBlock
	CompleteSnapshot
	GetSnapshotBlock
	ListSnapshotBlocks
	ListChangedBlocks
	DescribeSnapshots
	DeleteSnapshot
	CopySnapshot
	CreateTags
	DeleteTags
	DescribeTags
	DescribeRegions
	numOps
)

var opNames = [numOps]string{
	StartSnapshot:      "StartSnapshot",
	PutSnapshotBlock:   "PutSnapshotBlock",
	CompleteSnapshot:   "CompleteSnapshot",
	GetSnapshotBlock:   "GetSnapshotBlock",
	ListSnapshotBlocks: "ListSnapshotBlocks",
	ListChangedBlocks:  "ListChangedBlocks",
	DescribeSnapshots:  "DescribeSnapshots",
	DeleteSnapshot:     "DeleteSnapshot",
	CopySnapshot:       "CopySnapshot",
	CreateTags:         "CreateTags",
	DeleteTags:         "DeleteTags",
	DescribeTags:       "DescribeTags",
	DescribeRegions:    "DescribeRegions",
}

// String returns the AWS operation name.
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", o)
}

// Scope is what a quota counts the requests of.
type Scope uint8

// The scopes of AWS's quotas.
const (
	Account  Scope = iota // all requests of one account
	Snapshot              // one account's requests to one snapshot
	numScopes
)

var scopeNames = [numScopes]string{Account: "account", Snapshot: "snapshot"}

// String returns "account" or "snapshot", the names used in the
// configuration file and the metrics.
func (s Scope) String() string {
	if s < numScopes {
		return scopeNames[s]
	}
	return fmt.Sprintf("scope(%d)", s)
}

// Limit is one quota: a sustained rate and a burst.
type Limit struct {
	// Rate is the sustained rate in requests per second; 0 means no limit.
	Rate float64
	// Burst is how many requests a rested bucket admits at once; 0 means
	// one second's worth (Rate rounded up). AWS publishes rates only.
	Burst int
}

// Bounds of a Limit. They keep a bucket's interval between 1 µs and
// 1000 s, and burst intervals within an int64 of nanoseconds.
const (
	MinRate  = 0.001
	MaxRate  = 1e6
	MaxBurst = 1_000_000
)

// burst returns the effective burst of l.
func (l Limit) burst() int64 {
	if l.Burst > 0 {
		return int64(l.Burst)
	}
	return max(1, int64(math.Ceil(l.Rate)))
}

// check returns what is wrong with l, or nil.
func (l Limit) check() error {
	switch {
	case math.IsNaN(l.Rate) || l.Rate < 0:
		return fmt.Errorf("rate %v is negative; use a number of requests per second, or 0 for no limit", l.Rate)
	case l.Rate != 0 && l.Rate < MinRate:
		return fmt.Errorf("rate %v is below the least allowed, %v (one request per 1000 s); use 0 for no limit", l.Rate, MinRate)
	case l.Rate > MaxRate:
		return fmt.Errorf("rate %v is above the most allowed, %v; use 0 for no limit", l.Rate, float64(MaxRate))
	case l.Burst < 0 || l.Burst > MaxBurst:
		return fmt.Errorf("burst %d is not between 1 and %d (0 means one second's worth)", l.Burst, MaxBurst)
	}
	return nil
}

// Quotas are the limits of every operation and scope. The zero value
// limits nothing.
type Quotas struct {
	limits [numOps][numScopes]Limit
}

// AWS returns AWS's default quotas: those of the EBS direct APIs (spec
// §7.10), each with a burst of one second's worth of requests, and the EC2
// API's token buckets (docs/ec2-api.md §1), whose bursts AWS publishes.
func AWS() Quotas {
	var q Quotas
	q.limits[StartSnapshot][Account] = Limit{Rate: 10}       // L-AFEBDF7A
	q.limits[CompleteSnapshot][Account] = Limit{Rate: 10}    // L-1D4D9345
	q.limits[PutSnapshotBlock][Account] = Limit{Rate: 1000}  // L-AFAE1BE8
	q.limits[PutSnapshotBlock][Snapshot] = Limit{Rate: 1000} // L-1774F84A
	q.limits[GetSnapshotBlock][Account] = Limit{Rate: 1000}  // L-C125AE42
	q.limits[GetSnapshotBlock][Snapshot] = Limit{Rate: 1000} // L-028ACFB9
	q.limits[ListSnapshotBlocks][Account] = Limit{Rate: 50}  // L-18E976AB
	q.limits[ListChangedBlocks][Account] = Limit{Rate: 50}   // L-DB2FBAA1
	// EC2 "Request token bucket sizes and refill rates": the non-mutating
	// bucket, the uncategorized CreateTags, DeleteTags and DeleteSnapshot,
	// and the mutating bucket for CopySnapshot.
	q.limits[DescribeSnapshots][Account] = Limit{Rate: 20, Burst: 100}
	q.limits[DescribeTags][Account] = Limit{Rate: 20, Burst: 100}
	q.limits[DescribeRegions][Account] = Limit{Rate: 20, Burst: 100}
	q.limits[CreateTags][Account] = Limit{Rate: 10, Burst: 100}
	q.limits[DeleteTags][Account] = Limit{Rate: 10, Burst: 100}
	q.limits[DeleteSnapshot][Account] = Limit{Rate: 5, Burst: 100}
	q.limits[CopySnapshot][Account] = Limit{Rate: 5, Burst: 50}
	return q
}

// Limit returns the limit of op in scope s; the zero Limit when there is
// none.
func (q *Quotas) Limit(op Op, s Scope) Limit {
	if op >= numOps || s >= numScopes {
		return Limit{}
	}
	return q.limits[op][s]
}

// Set sets the limit of op in scope s. Only GetSnapshotBlock and
// PutSnapshotBlock have per-snapshot quotas, as on AWS: a per-snapshot
// limit on another operation is an error.
func (q *Quotas) Set(op Op, s Scope, l Limit) error {
	if op >= numOps {
		return fmt.Errorf("unknown operation %v", op)
	}
	if s >= numScopes {
		return fmt.Errorf("unknown scope %v", s)
	}
	if s == Snapshot && l.Rate != 0 && !hasSnapshotQuota(op) {
		return fmt.Errorf("%v has no per-snapshot quota on AWS; only GetSnapshotBlock and PutSnapshotBlock do", op)
	}
	if err := l.check(); err != nil {
		return err
	}
	q.limits[op][s] = l
	return nil
}

func hasSnapshotQuota(op Op) bool { return op == GetSnapshotBlock || op == PutSnapshotBlock }
