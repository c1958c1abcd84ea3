package ec2api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ebsd/ebsd/internal/ec2api"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestAccessLogAndMetrics: one access-log line per request with the
// attributes of the EBS API's lines, why authentication failed, and no
// secret; request metrics by operation and outcome.
func TestAccessLogAndMetrics(t *testing.T) {
	var buf syncBuffer
	reg := prometheus.NewRegistry()
	s := startServer(t, ec2api.Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Registerer: reg})
	s.raw(t, rawRequest{body: ec2Prefix}).expect(t, 200, "", "")
	s.raw(t, rawRequest{body: stsBody, service: "sts", secret: "wrong-secret", key: bobKey}).expect(t, 403, "SignatureDoesNotMatch", "")
	s.raw(t, rawRequest{body: "Action=Nope&Version=2016-11-15"}).expect(t, 400, "InvalidAction", "")

	lines := buf.lines(t)
	if len(lines) != 3 {
		t.Fatalf("%d log lines", len(lines))
	}
	ok, refused, unknown := lines[0], lines[1], lines[2]
	for k, v := range map[string]any{"msg": "request", "api": "ec2", "operation": "DescribeRegions", "status": 200.0,
		"error_type": "", "account": aliceAccount, "received_bytes": float64(len(ec2Prefix))} {
		if ok[k] != v {
			t.Errorf("success line %s = %v, want %v", k, ok[k], v)
		}
	}
	if ok["request_id"] == "" || ok["sent_bytes"].(float64) < 100 || ok["remote_addr"] == "" {
		t.Errorf("success line %v", ok)
	}
	for k, v := range map[string]any{"api": "sts", "operation": "Unknown", "status": 403.0, "error_type": "SignatureDoesNotMatch",
		"account": "", "auth_failure": "signature_mismatch", "access_key_id": bobKey} {
		if refused[k] != v {
			t.Errorf("refused line %s = %v, want %v", k, refused[k], v)
		}
	}
	if unknown["error_type"] != "InvalidAction" || unknown["account"] != aliceAccount {
		t.Errorf("unknown action line %v", unknown)
	}
	if strings.Contains(buf.b.String(), "wrong-secret") || strings.Contains(buf.b.String(), "Signature=") {
		t.Fatal("a secret or signature reached the log")
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ebsd_ec2api_requests_total", map[string]string{"operation": "DescribeRegions", "outcome": "success"}, 1},
		{"ebsd_ec2api_requests_total", map[string]string{"operation": "Unknown", "outcome": "SignatureDoesNotMatch"}, 1},
		{"ebsd_ec2api_requests_total", map[string]string{"operation": "Unknown", "outcome": "InvalidAction"}, 1},
		{"ebsd_ec2api_request_duration_seconds", map[string]string{"operation": "DescribeRegions"}, 1},
		{"ebsd_ec2api_received_bytes_total", map[string]string{"operation": "DescribeRegions"}, float64(len(ec2Prefix))},
		{"ebsd_ec2api_requests_in_flight", nil, 0},
	} {
		got, ok := metricValue(families, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if v, ok := metricValue(families, "ebsd_ec2api_sent_bytes_total", map[string]string{"operation": "DescribeRegions"}); !ok || v < 100 {
		t.Errorf("sent bytes %v", v)
	}
	// A second handler on the same registry is refused, cleanly.
	if _, err := ec2api.New(ec2api.Options{Service: s.fake, Keys: testKeys, Registerer: reg}); err == nil {
		t.Error("metrics registered twice")
	}
}

// metricValue returns the value of the counter or gauge, or the sample
// count of the histogram, with exactly the given labels.
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
			switch {
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}
