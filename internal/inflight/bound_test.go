package inflight_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/inflight"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		max, def int
		want     int64
	}{
		{"set", 3, 128, 3},
		{"zero means the default", 0, 128, 128},
		{"negative means the default", -1, 64, 64},
	}
	for _, tc := range tests {
		if got := inflight.New(tc.max, tc.def).Max(); got != tc.want {
			t.Errorf("%s: New(%d, %d).Max() = %d, want %d", tc.name, tc.max, tc.def, got, tc.want)
		}
	}
}

// TestBound checks the slot count: never above the bound, and a released
// slot can be taken again.
func TestBound(t *testing.T) {
	b := inflight.New(2, 0)
	if !b.Acquire() || !b.Acquire() {
		t.Fatal("could not take the two slots")
	}
	if b.Acquire() {
		t.Fatal("took a third slot of two")
	}
	b.Release()
	if !b.Acquire() {
		t.Fatal("could not take a released slot")
	}
	if n := b.InFlight(); n != 2 {
		t.Fatalf("%d in flight, want 2", n)
	}
}

// TestBoundNeverOvershoots hammers a full bound with refused acquires
// while another goroutine reads the count: it must never read more than
// the bound, which an Add undone on failure would show.
func TestBoundNeverOvershoots(t *testing.T) {
	const bound = 4
	b := inflight.New(bound, 0)
	for range bound {
		b.Acquire()
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if b.Acquire() {
					b.Release()
				}
			}
		}()
	}
	var worst int64
	for range 200_000 {
		worst = max(worst, b.InFlight())
	}
	stop.Store(true)
	wg.Wait()
	if worst > bound {
		t.Fatalf("read %d in flight, bound %d", worst, bound)
	}
}

func TestGauge(t *testing.T) {
	b := inflight.New(8, 0)
	b.Acquire()
	b.Acquire()
	reg := prometheus.NewRegistry()
	reg.MustRegister(b.Gauge(prometheus.GaugeOpts{Name: "test_in_flight", Help: "test"}))
	gauge := func() float64 {
		families, err := reg.Gather()
		if err != nil || len(families) != 1 {
			t.Fatalf("Gather: %d families, %v", len(families), err)
		}
		return families[0].GetMetric()[0].GetGauge().GetValue()
	}
	if got := gauge(); got != 2 {
		t.Errorf("gauge = %v, want 2", got)
	}
	b.Release()
	if got := gauge(); got != 1 {
		t.Errorf("gauge after a release = %v, want 1", got)
	}
}
