package cluster_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// roundResult is one system's put and get measurements in one round.
type roundResult struct{ put, get phase }

// report logs the medians over rounds, the same-round ratios the issue
// names against its goals, the requests per GiB, and where the CPU went.
func (b *bench) report(t *testing.T, results [][]roundResult) {
	rates := func(sys int, get bool) []float64 {
		var v []float64
		for _, r := range results[sys] {
			v = append(v, pick(r, get).rate())
		}
		return v
	}
	t.Logf("")
	t.Logf("%-28s %-28s %10s %8s", "measurement", "blocks/s by round", "median", "MiB/s")
	for sys := range systemNames {
		for _, get := range []bool{false, true} {
			v := rates(sys, get)
			t.Logf("%-28s %-28s %10.0f %8.1f", opName(sys, get), fmtAll(v, "%.0f"), median(v), median(v)/2)
		}
	}
	t.Logf("")
	t.Logf("%-28s %-28s %10s %8s", "same-round ratio", "by round", "median", "goal")
	ratio := func(name string, num, den []float64, goal float64) {
		r := make([]float64, len(num))
		for i := range num {
			r[i] = num[i] / den[i]
		}
		verdict := "met"
		if median(r) < goal {
			verdict = "MISSED"
		}
		t.Logf("%-28s %-28s %10.2f %8s %s", name, fmtAll(r, "%.2f"), median(r), fmt.Sprintf("≥ %.1f", goal), verdict)
	}
	ratio("Put(1 node) / MinIO PUT", rates(1, false), rates(0, false), 3)
	ratio("Get(1 node) / MinIO GET", rates(1, true), rates(0, true), 1)
	ratio("Put(3 nodes) / Put(1 node)", rates(2, false), rates(1, false), 1.5)
	ratio("Get(3 nodes) / Get(1 node)", rates(2, true), rates(1, true), 1.5)

	t.Logf("")
	t.Logf("%-28s %10s %10s %15s %11s %13s", "per GiB (median)", "S3 PUTs", "S3 GETs", "PG write xacts", "PG WAL MiB", "TCP connects")
	for sys := range systemNames {
		for _, get := range []bool{false, true} {
			var puts, gets, xids, wal, opens []float64
			for _, r := range results[sys] {
				p := pick(r, get)
				puts, gets = append(puts, p.s3.puts/p.gib()), append(gets, p.s3.gets/p.gib())
				xids, wal = append(xids, float64(p.xids)/p.gib()), append(wal, float64(p.wal)/(1<<20)/p.gib())
				opens = append(opens, float64(p.opens)/p.gib())
			}
			if sys == 0 { // MinIO alone: one request per block, no PostgreSQL
				puts, gets, xids, wal = []float64{2048}, nil, nil, nil
				if get {
					puts, gets = nil, []float64{2048}
				}
			}
			t.Logf("%-28s %10.0f %10.0f %15.0f %11.1f %13.0f", opName(sys, get), median(puts), median(gets), median(xids), median(wal), median(opens))
		}
	}

	t.Logf("")
	ncpu := float64(runtime.NumCPU())
	t.Logf("where the CPU went, median cores over each measurement (the machine has %.0f; other: processes not this test's;", ncpu)
	t.Logf("idle includes iowait, idle with I/O outstanding: what the fsyncs of MinIO and PostgreSQL leave unused):")
	t.Logf("%-28s %7s %7s %7s %9s %7s %7s %7s", "measurement", "client", "ebsd", "minio", "postgres", "other", "idle", "iowait")
	for sys := range systemNames {
		for _, get := range []bool{false, true} {
			var cl, eb, mi, pg, ot, idle, iow []float64
			for _, r := range results[sys] {
				p := pick(r, get)
				cl, eb, mi = append(cl, p.cores(p.cpu.client)), append(eb, p.cores(p.cpu.ebsd)), append(mi, p.cores(p.cpu.minio))
				pg, ot = append(pg, p.cores(p.cpu.postgres)), append(ot, p.cores(p.cpu.other()))
				idle, iow = append(idle, ncpu-p.cores(p.cpu.machine)), append(iow, p.cores(p.cpu.iowait))
			}
			t.Logf("%-28s %7.2f %7.2f %7.2f %9.2f %7.2f %7.2f %7.2f", opName(sys, get),
				median(cl), median(eb), median(mi), median(pg), median(ot), median(idle), median(iow))
		}
	}
	// CPU per GiB depends little on what else the machine runs: it says
	// what each system costs, and, divided into the machine's cores, the
	// rate it would reach if it had them to itself and CPU were its limit.
	t.Logf("")
	t.Logf("CPU-s per GiB (median) and the rate the machine's %.0f cores would allow if they were this test's alone:", ncpu)
	t.Logf("%-28s %7s %7s %7s %9s %7s %16s", "measurement", "client", "ebsd", "minio", "postgres", "total", "CPU-bound blk/s")
	for sys := range systemNames {
		for _, get := range []bool{false, true} {
			var cl, eb, mi, pg, tot, ceiling []float64
			for _, r := range results[sys] {
				p := pick(r, get)
				g := p.gib()
				c := p.cpu
				all := c.client + c.ebsd + c.minio + c.postgres + c.children
				cl, eb, mi, pg = append(cl, c.client/g), append(eb, c.ebsd/g), append(mi, c.minio/g), append(pg, c.postgres/g)
				tot, ceiling = append(tot, all/g), append(ceiling, ncpu*float64(p.blocks)/all)
			}
			t.Logf("%-28s %7.2f %7.2f %7.2f %9.2f %7.2f %16.0f", opName(sys, get),
				median(cl), median(eb), median(mi), median(pg), median(tot), median(ceiling))
		}
	}
	t.Logf("load average at the end: %s", loadAvg())
}

func pick(r roundResult, get bool) phase {
	if get {
		return r.get
	}
	return r.put
}

// opName names system sys's put or get measurement.
func opName(sys int, get bool) string {
	switch {
	case sys == 0 && get:
		return "MinIO GetObject"
	case sys == 0:
		return "MinIO PutObject"
	case get:
		return systemNames[sys] + " GetSnapshotBlock"
	default:
		return systemNames[sys] + " PutSnapshotBlock"
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtAll(v []float64, format string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " ")
}
