package api_test

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	svc := &fakeService{}
	h := newHandler(t, svc, func(o *api.Options) { o.Registerer = reg })

	block := bytes.Repeat([]byte{7}, ebs.BlockSize)
	for range 2 {
		serve(t, h, httptest.NewRequest("PUT", "/snapshots/snap-1/blocks/0", bytes.NewReader(block)))
	}
	serve(t, h, httptest.NewRequest("GET", "/snapshots/snap-1/blocks/0?blockToken=t", nil))
	serve(t, h, httptest.NewRequest("DELETE", "/snapshots", nil))
	serve(t, h, httptest.NewRequest("POST", "/snapshots", bytes.NewReader([]byte("{"))))

	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ebsd_requests_total", map[string]string{"operation": "PutSnapshotBlock", "outcome": "success"}, 2},
		{"ebsd_requests_total", map[string]string{"operation": "GetSnapshotBlock", "outcome": "success"}, 1},
		{"ebsd_requests_total", map[string]string{"operation": "Unknown", "outcome": "UnknownOperationException"}, 1},
		{"ebsd_requests_total", map[string]string{"operation": "StartSnapshot", "outcome": "SerializationException"}, 1},
		{"ebsd_requests_total", map[string]string{"operation": "StartSnapshot", "outcome": "success"}, 0},
		{"ebsd_request_duration_seconds", map[string]string{"operation": "PutSnapshotBlock"}, 2},
		{"ebsd_received_bytes_total", map[string]string{"operation": "PutSnapshotBlock"}, 2 * ebs.BlockSize},
		{"ebsd_received_bytes_total", map[string]string{"operation": "StartSnapshot"}, 1},
		{"ebsd_sent_bytes_total", map[string]string{"operation": "GetSnapshotBlock"}, ebs.BlockSize},
		{"ebsd_sent_bytes_total", map[string]string{"operation": "PutSnapshotBlock"}, 4},
		{"ebsd_blocks_written_total", nil, 2},
		{"ebsd_blocks_read_total", nil, 1},
	}
	for _, tc := range tests {
		got, ok := metricValue(families, tc.name, tc.labels)
		if !ok {
			t.Errorf("%s%v not found", tc.name, tc.labels)
			continue
		}
		if got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}

	if _, err := api.New(api.Options{Service: svc, Auth: acceptAll{}, Registerer: reg}); err == nil {
		t.Error("registering the metrics twice on one registry succeeded")
	}
}

// metricValue returns the value of the counter, or the sample count of the
// histogram, with exactly the given labels.
func metricValue(families []*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount()), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}
