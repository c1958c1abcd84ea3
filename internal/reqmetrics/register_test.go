package reqmetrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/reqmetrics"
)

func counter(name string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: name})
}

// TestRegisterAllOrNone: a collision on the last collector leaves none of
// the others registered, so that registering them again succeeds once the
// collision is gone.
func TestRegisterAllOrNone(t *testing.T) {
	reg := prometheus.NewRegistry()
	taken := counter("c")
	reg.MustRegister(taken)
	cs := []prometheus.Collector{counter("a"), counter("b"), counter("c")}
	if err := reqmetrics.Register(reg, cs...); err == nil {
		t.Fatal("registered a collector whose name was taken")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "c" {
			t.Errorf("%s stayed registered after the failure", f.GetName())
		}
	}
	reg.Unregister(taken)
	if err := reqmetrics.Register(reg, cs...); err != nil {
		t.Fatalf("registering again: %v", err)
	}
}

func TestRegisterNil(t *testing.T) {
	if err := reqmetrics.Register(nil, counter("a")); err != nil {
		t.Fatalf("nil Registerer: %v", err)
	}
}
