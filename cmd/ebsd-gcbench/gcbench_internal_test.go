package main

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUploadIn(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	// One ack every 100 ms from 0.1 s to 10 s.
	up := upload{began: t0, ended: at(10)}
	for i := 1; i <= 100; i++ {
		up.acks = append(up.acks, ack{at(float64(i) / 10), time.Duration(i) * time.Millisecond})
	}
	for _, c := range []struct {
		name     string
		from, to float64
		n        int
		covered  float64
		p50      time.Duration
	}{
		{"inside", 2, 4, 21, 2, 30 * time.Millisecond}, // 2.0 through 4.0, both edges
		{"the whole upload", 0, 10, 100, 10, 51 * time.Millisecond},
		{"a window wider than the upload is cut to it", -5, 20, 100, 10, 51 * time.Millisecond},
		{"a window that starts before the upload", -1, 1, 10, 1, 6 * time.Millisecond},
		{"a window after the upload", 11, 12, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			acks, covered := up.in(at(c.from), at(c.to))
			if len(acks) != c.n || math.Abs(covered.Seconds()-c.covered) > 1e-9 {
				t.Errorf("in(%v, %v) = %d acks over %v; want %d over %vs", c.from, c.to, len(acks), covered, c.n, c.covered)
			}
			if p := percentile(acks, 0.5); p != c.p50 {
				t.Errorf("p50 = %v, want %v", p, c.p50)
			}
		})
	}
}

func TestPerBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var acks []ack
	// 10 acks in the first second, none in the second, 4 in the third.
	for i := range 10 {
		acks = append(acks, ack{at: t0.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	for i := range 4 {
		acks = append(acks, ack{at: t0.Add(2*time.Second + time.Duration(i)*200*time.Millisecond)})
	}
	got := perBucket(acks, t0, 500*time.Millisecond)
	want := []float64{10, 10, 0, 0, 6, 2}
	if !slices.Equal(got, want) {
		t.Errorf("perBucket = %v, want %v", got, want)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP ebsd_gc_runs_total Garbage collections, by result (ok or error).
# TYPE ebsd_gc_runs_total counter
ebsd_gc_runs_total{result="error"} 0
ebsd_gc_runs_total{result="ok"} 3
ebsd_stored_bytes 1.073741824e+09
go_info{version="go1.26 x"} 1
with_timestamp 7 1700000000000
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for series, want := range map[string]float64{
		`ebsd_gc_runs_total{result="ok"}`:    3,
		`ebsd_gc_runs_total{result="error"}`: 0,
		`ebsd_stored_bytes`:                  1 << 30,
		`go_info{version="go1.26 x"}`:        1,
		`with_timestamp`:                     7,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if len(m) != 5 {
		t.Errorf("%d series, want 5: %v", len(m), m)
	}
}

func TestLogWatch(t *testing.T) {
	var out bytes.Buffer
	w := newLogWatch(&out)
	lines := `{"time":"t","level":"INFO","msg":"snapshot started","snapshot":"snap-1"}
{"time":"t","level":"INFO","msg":"packblocks: sweep","swept":10,"duration":1500000000}
{"time":"t","level":"WARN","msg":"something odd"}
not json
{"time":"t","level":"INFO","msg":"garbage collection done","duration":2500000000,"purged":4}
`
	// Written in pieces that split lines, as a pipe delivers them.
	for len(lines) > 0 {
		n := min(7, len(lines))
		if _, err := w.Write([]byte(lines[:n])); err != nil {
			t.Fatal(err)
		}
		lines = lines[n:]
	}
	select {
	case rec := <-w.done:
		if rec.msg() != msgGCDone || rec.duration("duration") != 2500*time.Millisecond || rec.num("purged") != 4 {
			t.Errorf("done = %+v", rec.fields)
		}
	default:
		t.Fatal("no collection end reported")
	}
	sweep, ok := w.last(msgSweep, time.Now())
	if !ok || sweep.duration("duration") != 1500*time.Millisecond || sweep.num("swept") != 10 {
		t.Errorf("sweep = %+v, %v", sweep.fields, ok)
	}
	if _, ok := w.last("snapshot started", time.Now()); ok {
		t.Error("kept a line the benchmark does not read")
	}
	if got := out.String(); got != "{\"time\":\"t\",\"level\":\"WARN\",\"msg\":\"something odd\"}\nnot json\n" {
		t.Errorf("passed on %q, want the warning and the line that is not JSON", got)
	}
}
