// Package throttle limits request rates the way AWS limits the EBS direct
// APIs (Service Quotas, spec §7.10): per operation and account, and for
// GetSnapshotBlock and PutSnapshotBlock also per snapshot.
//
// Each quota is a token bucket. A bucket is kept as the generic cell rate
// algorithm keeps it: one "theoretical arrival time" in an atomic int64,
// which a request advances by one interval (1/rate) with a compare-and-swap
// when that does not put it more than burst intervals ahead of now. This is
// exactly a token bucket of capacity burst refilled at rate, with no lock
// and no floating point on the request path; the only lock is a per-shard
// read lock to find the bucket.
//
// A bucket whose arrival time is not ahead of now is full, and a full bucket
// behaves exactly like one never created, so dropping it changes nothing.
// Each shard of the bucket table drops its full buckets whenever it has
// doubled since its last sweep. Memory is thus bounded by about twice the
// buckets that were used within their last burst/rate seconds (one second
// with the default bursts), which the account quotas bound in turn.
//
// Time comes from an injectable clock, so tests can drive the buckets
// exactly.
package throttle
