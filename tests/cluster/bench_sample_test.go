package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
)

// pgCounters returns the next transaction ID to be assigned (a transaction
// gets one only when it writes) and the WAL insert position, both read at
// once, unlike pg_stat_database's counters, which backends flush late.
func (b *bench) pgCounters(ctx context.Context) (xid, wal int64, err error) {
	err = b.pg.QueryRow(ctx, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, (pg_current_wal_insert_lsn() - '0/0')::bigint").Scan(&xid, &wal)
	return xid, wal, err
}

// tcpActiveOpens returns the TCP connections the machine (its network
// namespace) has opened: a client whose pool is too small for its
// concurrency opens one per request.
func tcpActiveOpens() (int64, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, err
	}
	var names []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for j, name := range names {
			if name == "ActiveOpens" && j < len(f) {
				return strconv.ParseInt(f[j], 10, 64)
			}
		}
	}
	return 0, errors.New("/proc/net/snmp: no Tcp ActiveOpens")
}

// s3Counts are the S3 block store's counters summed over the nodes.
type s3Counts struct{ puts, gets, groups float64 }

func (a s3Counts) minus(b s3Counts) s3Counts {
	return s3Counts{a.puts - b.puts, a.gets - b.gets, a.groups - b.groups}
}

// scrape reads the S3 counters from every node's /metrics
// (internal/server/s3_metrics.go).
func (b *bench) scrape(ctx context.Context) (s3Counts, error) {
	var sum s3Counts
	for _, url := range b.metrics {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return sum, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return sum, err
		}
		found := 0
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, value, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				continue
			}
			switch name {
			case `ebsd_s3_requests_total{op="put"}`:
				sum.puts += v
			case `ebsd_s3_requests_total{op="get"}`:
				sum.gets += v
			case "ebsd_s3_groups_total":
				sum.groups += v
			default:
				continue
			}
			found++
		}
		resp.Body.Close()
		if err := sc.Err(); err != nil {
			return sum, fmt.Errorf("%s: %w", url, err)
		}
		if found != 3 {
			return sum, fmt.Errorf("%s: %d of the 3 S3 counters found", url, found)
		}
	}
	return sum, nil
}

// cpuSample is CPU seconds used, by this test (the clients), by the
// processes it started, grouped by program, and by the whole machine.
type cpuSample struct {
	client, ebsd, minio, postgres, children float64
	machine                                 float64 // every CPU's busy time (not idle, not iowait)
	iowait                                  float64 // idle time with I/O outstanding (fsyncs)
}

func (a cpuSample) minus(b cpuSample) cpuSample {
	return cpuSample{a.client - b.client, a.ebsd - b.ebsd, a.minio - b.minio, a.postgres - b.postgres,
		a.children - b.children, a.machine - b.machine, a.iowait - b.iowait}
}

// other is the CPU the machine used outside this test's processes: other
// people's work, and the kernel's not charged to a process.
func (a cpuSample) other() float64 {
	return a.machine - a.client - a.ebsd - a.minio - a.postgres - a.children
}

// userHZ is the unit of /proc's CPU times on Linux.
const userHZ = 100

// readCPU reads /proc: this process, its descendants (ebsd nodes, MinIO,
// PostgreSQL and its backends) by program name, and the machine's total.
func readCPU() (cpuSample, error) {
	var c cpuSample
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c, err
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for j, v := range f[1:] {
		if j >= 8 { // guest time is counted in user already
			break
		}
		n, _ := strconv.ParseFloat(v, 64)
		switch j {
		case 3: // idle
		case 4:
			c.iowait += n / userHZ
		default:
			c.machine += n / userHZ
		}
	}
	type proc struct {
		ppid int
		comm string
		cpu  float64
	}
	procs := map[int]proc{}
	children := map[int][]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return c, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		lp, rp := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if lp < 0 || rp < lp {
			continue
		}
		rest := strings.Fields(s[rp+1:]) // state ppid ... utime(12th) stime(13th)
		if len(rest) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(rest[1])
		utime, _ := strconv.ParseFloat(rest[11], 64)
		stime, _ := strconv.ParseFloat(rest[12], 64)
		procs[pid] = proc{ppid, s[lp+1 : rp], (utime + stime) / userHZ}
		children[ppid] = append(children[ppid], pid)
	}
	self := os.Getpid()
	c.client = procs[self].cpu
	queue := slices.Clone(children[self])
	for len(queue) > 0 {
		pid := queue[0]
		queue = append(queue[1:], children[pid]...)
		p := procs[pid]
		switch p.comm {
		case "ebsd":
			c.ebsd += p.cpu
		case "minio":
			c.minio += p.cpu
		case "postgres":
			c.postgres += p.cpu
		default:
			c.children += p.cpu
		}
	}
	return c, nil
}
