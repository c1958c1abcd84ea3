package reqmetrics_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/reqmetrics"
)

var testHelp = reqmetrics.Help{Requests: "requests", Duration: "duration", Received: "received", Sent: "sent"}

func TestOps(t *testing.T) {
	m := reqmetrics.New("test_", testHelp, []string{"Unknown", "Get", "Put"})
	reg := prometheus.NewRegistry()
	if err := reqmetrics.Register(reg, m.Collectors()...); err != nil {
		t.Fatal(err)
	}
	m.Observe(1, reqmetrics.Success, time.Millisecond, 10, 100)
	m.Observe(1, reqmetrics.Success, time.Millisecond, 10, 100)
	m.Observe(2, "ValidationException", time.Millisecond, 3, 7)
	m.Observe(9, "UnknownOperationException", time.Millisecond, 0, 5) // out of range: Unknown
	m.Observe(-1, reqmetrics.Success, time.Millisecond, 0, 1)         // out of range: Unknown

	got := samples(t, reg)
	tests := []struct {
		sample string
		want   float64
	}{
		{`test_requests_total{operation="Get",outcome="success"}`, 2},
		{`test_requests_total{operation="Put",outcome="success"}`, 0}, // resolved up front
		{`test_requests_total{operation="Put",outcome="ValidationException"}`, 1},
		{`test_requests_total{operation="Unknown",outcome="UnknownOperationException"}`, 1},
		{`test_requests_total{operation="Unknown",outcome="success"}`, 1},
		{`test_request_duration_seconds{operation="Get"}`, 2},
		{`test_received_bytes_total{operation="Get"}`, 20},
		{`test_received_bytes_total{operation="Put"}`, 3},
		{`test_sent_bytes_total{operation="Get"}`, 200},
		{`test_sent_bytes_total{operation="Unknown"}`, 6},
	}
	for _, tc := range tests {
		if v, ok := got[tc.sample]; !ok || v != tc.want {
			t.Errorf("%s = %v (found %v), want %v", tc.sample, v, ok, tc.want)
		}
	}
	if n := len(got); n != 14 {
		t.Errorf("%d series, want 14: 4 for each of the 3 operations, 2 for errors", n)
	}
	help := map[string]string{}
	families, _ := reg.Gather()
	for _, f := range families {
		help[f.GetName()] = f.GetHelp()
	}
	wantHelp := map[string]string{"test_requests_total": "requests", "test_request_duration_seconds": "duration",
		"test_received_bytes_total": "received", "test_sent_bytes_total": "sent"}
	if !maps.Equal(help, wantHelp) {
		t.Errorf("help %v, want %v", help, wantHelp)
	}
}

// samples gathers reg into a map from each series, written as in the text
// exposition format, to its counter value or histogram sample count.
func samples(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() { // sorted by name
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// BenchmarkObserve is the per-request cost on the success path, which
// must not hash labels.
func BenchmarkObserve(b *testing.B) {
	m := reqmetrics.New("test_", testHelp, []string{"Unknown", "Put"})
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(1, reqmetrics.Success, time.Millisecond, 524288, 4)
	}
}
