package api

import (
	"math"
	"time"
)

// Defaults of TransferLimits' zero fields.
const (
	// DefaultStall is the longest a body or response may go without a
	// byte moving, and the grace before DefaultMinRate applies. It equals
	// the header phase's 30 s: TCP retransmission backoff alone can stall
	// a healthy connection for several seconds.
	DefaultStall = 30 * time.Second
	// DefaultMinRate is the slowest average rate a transfer may keep after
	// the grace: 4 KiB/s moves a 512 KiB block in 128 s, which 64 uploaders
	// sharing a 2 Mbit/s uplink still beat.
	DefaultMinRate = 4 << 10
	// DefaultTransferMax caps one body read or response write whatever its
	// progress: above DefaultStall plus a block at DefaultMinRate (158 s).
	DefaultTransferMax = 3 * time.Minute
)

// TransferLimits bound how long reading one request body, and writing one
// response, may take. Both directions follow the same rule: a transfer that
// began at t0 and has moved n bytes, the last of them at tLast, is cut at
//
//	min(tLast + Stall, t0 + Stall + n/MinRate, t0 + Max)
//
// that is, it may never go Stall without progress, must average MinRate
// after a grace of Stall, and never lasts more than Max. A client sending
// a byte a second is cut after about Stall, while a slow but steady upload
// finishes. The header phase is bounded separately (30 s).
//
// Responses are written, and their progress measured, in pieces of
// writePiece bytes: Stall must be well above the time MinRate takes to
// move one (8 s with the defaults).
type TransferLimits struct {
	Stall   time.Duration // 0 means DefaultStall
	MinRate int64         // bytes per second; 0 means DefaultMinRate
	Max     time.Duration // 0 means DefaultTransferMax
}

// WithDefaults returns l with its zero (or negative) fields set to the
// defaults.
func (l TransferLimits) WithDefaults() TransferLimits {
	if l.Stall <= 0 {
		l.Stall = DefaultStall
	}
	if l.MinRate <= 0 {
		l.MinRate = DefaultMinRate
	}
	if l.Max <= 0 {
		l.Max = DefaultTransferMax
	}
	return l
}

// deadline returns when a transfer that began at start and has moved n
// bytes, the last of them at last, must be over. l must have its defaults.
func (l TransferLimits) deadline(start, last time.Time, n int64) time.Time {
	d := last.Add(l.Stall)
	// An allowance beyond Max cannot bind (and could overflow the sum).
	if a := allowance(n, l.MinRate); a < l.Max {
		if byRate := start.Add(l.Stall + a); byRate.Before(d) {
			d = byRate
		}
	}
	if byMax := start.Add(l.Max); byMax.Before(d) {
		d = byMax
	}
	return d
}

// allowance is the time n bytes may take at rate bytes per second.
func allowance(n, rate int64) time.Duration {
	if n > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64 // far beyond any Max
	}
	return time.Duration(n * int64(time.Second) / rate)
}
