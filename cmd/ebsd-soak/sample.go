package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// sample is one reading of the server's resources and of the soak's
// counters.
type sample struct {
	at         time.Duration // since the workers started
	rssBytes   int64
	goroutines int64
	fds        int64
	packs      int // -1 = unknown
	counters   counters
}

// sampler reads a server's resources: /proc/PID when the pid is known
// (exact and cheap), else the process_* gauges that ebsd's /metrics
// exports; goroutines always come from /metrics.
type sampler struct {
	t  *target
	hc *http.Client
}

func (s *sampler) read(ctx context.Context) (sample, error) {
	m, err := s.metrics(ctx)
	if err != nil {
		return sample{}, err
	}
	out := sample{
		goroutines: int64(m["go_goroutines"]),
		rssBytes:   int64(m["process_resident_memory_bytes"]),
		fds:        int64(m["process_open_fds"]),
		packs:      s.t.packs(),
	}
	if s.t.pid > 0 {
		if out.fds, err = countFDs(s.t.pid); err != nil {
			return sample{}, err
		}
		if out.rssBytes, err = rss(s.t.pid); err != nil {
			return sample{}, err
		}
	}
	return out, nil
}

// metrics fetches the untyped values of /metrics, by series name without
// labels.
func (s *sampler) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.t.endpoint+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format's unlabelled samples.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		fields := strings.Fields(value) // the value, maybe a timestamp
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			m[name] = v
		}
	}
	return m, sc.Err()
}

func countFDs(pid int) (int64, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("count open files: %w", err)
	}
	return int64(len(entries)), nil
}

func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

const tableHeader = "%7s %9s %8s %8s %7s %9s %10s %8s %10s %6s\n"

func writeTableHeader(w io.Writer) {
	fmt.Fprintf(w, tableHeader, "t", "ops", "ops/s", "puts/s", "errors", "throttled", "mismatches", "rss_MiB", "goroutines", "fds")
}

// writeRow prints cur, with rates since prev.
func writeRow(w io.Writer, prev, cur sample) {
	secs := (cur.at - prev.at).Seconds()
	rate := func(a, b int64) string {
		if secs <= 0 {
			return "-"
		}
		return strconv.FormatFloat(float64(b-a)/secs, 'f', 1, 64)
	}
	fmt.Fprintf(w, tableHeader,
		cur.at.Round(time.Second).String(), strconv.FormatInt(cur.counters.ops, 10),
		rate(prev.counters.ops, cur.counters.ops),
		rate(prev.counters.byOp["PutSnapshotBlock"], cur.counters.byOp["PutSnapshotBlock"]),
		strconv.FormatInt(cur.counters.errors, 10), strconv.FormatInt(cur.counters.throttled, 10),
		strconv.FormatInt(cur.counters.mismatches, 10),
		strconv.FormatFloat(float64(cur.rssBytes)/(1<<20), 'f', 1, 64),
		strconv.FormatInt(cur.goroutines, 10), strconv.FormatInt(cur.fds, 10))
}
