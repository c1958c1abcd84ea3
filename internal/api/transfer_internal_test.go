package api

import (
	"testing"
	"time"
)

// TestTransferDeadline pins the rule of TransferLimits: cut at
// min(last + Stall, start + Stall + n/MinRate, start + Max).
func TestTransferDeadline(t *testing.T) {
	l := TransferLimits{Stall: 10 * time.Second, MinRate: 1000, Max: time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name string
		last time.Duration // since t0
		n    int64
		want time.Duration // since t0
	}{
		{"nothing yet: the grace", 0, 0, 10 * time.Second},
		{"a trickle: the rate floor binds", 9 * time.Second, 9, 10*time.Second + 9*time.Millisecond},
		{"steady above the floor: the stall binds", 5 * time.Second, 20000, 15 * time.Second},
		{"fast, then stalled", time.Second, 40000, 11 * time.Second},
		{"slow but ahead of the floor near the cap", 55 * time.Second, 60000, time.Minute},
		{"absurd count", time.Second, 1 << 62, 11 * time.Second},
	}
	for _, tc := range tests {
		if got := l.deadline(t0, at(tc.last), tc.n); !got.Equal(at(tc.want)) {
			t.Errorf("%s: deadline = t0+%v, want t0+%v", tc.name, got.Sub(t0), tc.want)
		}
	}
}

func TestTransferLimitsWithDefaults(t *testing.T) {
	got := TransferLimits{MinRate: -1}.WithDefaults()
	want := TransferLimits{Stall: DefaultStall, MinRate: DefaultMinRate, Max: DefaultTransferMax}
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
	set := TransferLimits{Stall: time.Second, MinRate: 7, Max: time.Hour}
	if got := set.WithDefaults(); got != set {
		t.Errorf("WithDefaults changed set fields: %+v", got)
	}
}

// TestMaxInFlightDefault: a MaxInFlight left zero bounds the requests at
// DefaultMaxInFlight, a set one at its value. (The bound itself is tested
// in package inflight.)
func TestMaxInFlightDefault(t *testing.T) {
	for _, tc := range []struct {
		max  int
		want int64
	}{{0, DefaultMaxInFlight}, {-1, DefaultMaxInFlight}, {3, 3}} {
		h, err := New(Options{Service: stubService{}, Auth: stubAuth{}, MaxInFlight: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		if got := h.busy.Max(); got != tc.want {
			t.Errorf("MaxInFlight %d: bound %d, want %d", tc.max, got, tc.want)
		}
	}
}

// stubService and stubAuth satisfy the interfaces of Options; calling
// them panics.
type stubService struct{ Service }
type stubAuth struct{ Authenticator }
