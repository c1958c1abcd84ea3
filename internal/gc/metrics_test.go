package gc

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsRegisterAllOrNone: when one metric cannot be registered,
// none stays registered, so that the registry is left as it was and a
// later New on it does not collide with leftovers.
func TestMetricsRegisterAllOrNone(t *testing.T) {
	reg := prometheus.NewRegistry()
	other, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	taken := other.garbage // the last one registered
	reg.MustRegister(taken)
	if _, err := newMetrics(reg); err == nil {
		t.Fatal("registered ebsd_gc_garbage_bytes twice")
	}
	reg.Unregister(taken)
	if _, err := newMetrics(reg); err != nil {
		t.Fatalf("after the collision is gone: %v", err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 7 {
		t.Errorf("%d metric families, want the collector's 7", len(families))
	}
}
