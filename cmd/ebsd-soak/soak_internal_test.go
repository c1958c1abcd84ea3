package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		endpoint string
		ok       bool
	}{
		{"http://127.0.0.1:8450", true},
		{"https://127.0.0.2:8450", true},
		{"http://[::1]:8450", true},
		{"http://localhost:8450", true},
		{"http://10.0.0.5:8450", false},
		{"https://ebs.us-east-1.amazonaws.com", false},
		{"127.0.0.1:8450", false}, // no scheme: not a URL the SDK takes
	}
	for _, tc := range tests {
		if err := checkLoopback(tc.endpoint); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tc.endpoint, err, tc.ok)
		}
	}
}

func TestParseFlags(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"}[k]
	}
	noKeys := func(string) string { return "" }
	tests := []struct {
		args    []string
		getenv  func(string) string
		errText string
	}{
		{[]string{"-d", "20s", "-w", "8"}, noKeys, ""},
		{[]string{"-d", "48h"}, noKeys, "at most 24h"},
		{[]string{"-w", "0"}, noKeys, "-w 0"},
		{[]string{"-fresh", "2"}, noKeys, "-fresh 2"},
		{[]string{"-endpoint", "http://127.0.0.1:8450"}, noKeys, "AWS_ACCESS_KEY_ID"},
		{[]string{"-endpoint", "http://127.0.0.1:8450"}, env, ""},
		{[]string{"-endpoint", "http://192.168.1.2:8450"}, env, "only against loopback"},
	}
	for _, tc := range tests {
		_, err := parseFlags(tc.args, tc.getenv, io.Discard)
		if (err == nil) != (tc.errText == "") || (err != nil && !strings.Contains(err.Error(), tc.errText)) {
			t.Errorf("parseFlags(%q) = %v, want error with %q", tc.args, err, tc.errText)
		}
	}
	o, _ := parseFlags([]string{"-d", "30s"}, noKeys, io.Discard)
	if o.warmup != 10*time.Second || o.workers != 64 {
		t.Errorf("-d 30s: warm-up %v, workers %d; want 10s (a third) and 64", o.warmup, o.workers)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
process_open_fds 17
process_resident_memory_bytes 1.2345e+08
ebsd_requests_total{operation="PutSnapshotBlock"} 9
odd_line_without_value
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"go_goroutines": 42, "process_open_fds": 17, "process_resident_memory_bytes": 1.2345e+08}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Errorf("parseMetrics = %v, want %v", m, want)
	}
}

func TestCheckGrowth(t *testing.T) {
	base := sample{goroutines: 100, fds: 100, rssBytes: 100 << 20, packs: 10}
	tests := []struct {
		name string
		end  sample
		bad  []string
	}{
		{"flat", sample{goroutines: 100, fds: 100, rssBytes: 100 << 20, packs: 10}, nil},
		{"within tolerance", sample{goroutines: 214, fds: 214, rssBytes: 278 << 20, packs: 10}, nil},
		{"goroutine leak", sample{goroutines: 215, fds: 100, rssBytes: 100 << 20, packs: 10}, []string{"goroutines"}},
		{"fd leak", sample{goroutines: 100, fds: 215, rssBytes: 100 << 20, packs: 10}, []string{"open fds"}},
		{"fds of new packs", sample{goroutines: 100, fds: 264, rssBytes: 100 << 20, packs: 60}, nil},
		{"memory leak", sample{goroutines: 100, fds: 100, rssBytes: 279 << 20, packs: 10}, []string{"RSS"}},
	}
	for _, tc := range tests {
		var bad []string
		for _, c := range checkGrowth(tolerance{frac: 0.5}, base, tc.end) {
			if !c.ok {
				bad = append(bad, c.name)
			}
		}
		if fmt.Sprint(bad) != fmt.Sprint(tc.bad) {
			t.Errorf("%s: too much growth in %v, want %v", tc.name, bad, tc.bad)
		}
	}
}

func TestErrorType(t *testing.T) {
	tests := []struct {
		err        error
		want       string
		throttling bool
	}{
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, "ThrottlingException", true},
		{fmt.Errorf("op: %w", &smithy.GenericAPIError{Code: "RequestThrottledException"}), "RequestThrottledException", true},
		{&smithy.GenericAPIError{Code: "InternalServerException"}, "InternalServerException", false},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), "timeout", false},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), "connection reset", false},
		{fmt.Errorf("read block: %w", io.ErrUnexpectedEOF), "connection closed early", false},
		{fmt.Errorf("x: %w", errors.New("y")), "other (*errors.errorString)", false},
	}
	for _, tc := range tests {
		if got := errorType(tc.err); got != tc.want || isThrottling(tc.err) != tc.throttling {
			t.Errorf("%v: type %q, throttling %v; want %q, %v", tc.err, got, isThrottling(tc.err), tc.want, tc.throttling)
		}
	}
}
