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
	"syscall"
	"time"
)

// scrape reads the server's /metrics into series (name with labels, as
// printed) and values.
func scrape(ctx context.Context, endpoint string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics parses the Prometheus text format, keeping the series and
// values and dropping comments, timestamps and what it cannot parse.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := make(map[string]float64)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the last space outside the labels.
		cut := strings.LastIndexByte(line, '}') + 1
		fields := strings.Fields(line[cut:])
		if cut == 0 {
			fields = strings.Fields(line)
		}
		if len(fields) == 0 {
			continue
		}
		name := line[:cut]
		valueAt := 0
		if cut == 0 {
			name, valueAt = fields[0], 1
		}
		if valueAt >= len(fields) {
			continue
		}
		v, err := strconv.ParseFloat(fields[valueAt], 64)
		if err != nil {
			continue
		}
		m[name] = v
	}
	return m, sc.Err()
}

// usage is what the server process and its disk have done so far.
type usage struct {
	at        time.Time
	cpu       time.Duration // the server's user and system time
	readBytes int64         // the server's reads and writes that reached the
	wroteByte int64         // block layer (/proc/PID/io)
	diskBusy  time.Duration // the disk's time with I/O in flight (io_ticks)
	benchCPU  time.Duration // this process's user and system time: the client
	cpuStall  time.Duration // the machine's time with a task waiting for a CPU
	ioStall   time.Duration // and for I/O (/proc/pressure, "some")
	stalls    int64         // allocations that stalled to reclaim memory (/proc/vmstat allocstall_*)
}

// clockTick is USER_HZ, 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// probe samples a process and the disk holding a directory.
type probe struct {
	pid          int
	major, minor uint32
}

func newProbe(pid int, dir string) (*probe, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return nil, err
	}
	dev := uint64(st.Dev)
	// Linux's dev_t encoding (glibc's gnu_dev_major/minor).
	major := uint32((dev>>8)&0xfff) | uint32((dev>>32)&^0xfff)
	minor := uint32(dev&0xff) | uint32((dev>>12)&^0xff)
	return &probe{pid: pid, major: major, minor: minor}, nil
}

func (p *probe) sample() (usage, error) {
	u := usage{at: time.Now()}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return u, err
	}
	u.benchCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return u, err
	}
	// Fields after the command name, which may hold spaces and ")":
	// state is field 3, utime 14, stime 15.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return u, fmt.Errorf("/proc/%d/stat: %d fields", p.pid, len(f))
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = time.Duration(ut+st) * clockTick
	io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(io), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch {
		case !ok:
		case k == "read_bytes":
			u.readBytes = n
		case k == "write_bytes":
			u.wroteByte = n
		}
	}
	// Pressure stall information: how busy the machine was, everyone
	// included. Kernels without it leave these at 0.
	u.cpuStall = stall("/proc/pressure/cpu")
	u.ioStall = stall("/proc/pressure/io")
	u.stalls = allocStalls()
	ds, err := os.ReadFile("/proc/diskstats")
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(ds), "\n") {
		f := strings.Fields(line)
		if len(f) < 13 || f[0] != strconv.FormatUint(uint64(p.major), 10) || f[1] != strconv.FormatUint(uint64(p.minor), 10) {
			continue
		}
		ms, _ := strconv.ParseInt(f[12], 10, 64)
		u.diskBusy = time.Duration(ms) * time.Millisecond
	}
	return u, nil
}

// stall returns the "some" total of a /proc/pressure file, or 0.
func stall(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if !strings.HasPrefix(line, "some ") {
		return 0
	}
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "total="); ok {
			us, _ := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond
		}
	}
	return 0
}

// allocStalls returns the machine's allocations that stalled in direct
// reclaim so far: the page cache full, a writer waits while the kernel
// frees memory. 0 when /proc/vmstat cannot be read.
func allocStalls() int64 {
	b, err := os.ReadFile("/proc/vmstat")
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && strings.HasPrefix(k, "allocstall_") {
			c, _ := strconv.ParseInt(v, 10, 64)
			n += c
		}
	}
	return n
}

// span is what happened between two samples.
type span struct{ from, to usage }

func (s span) seconds() float64 { return s.to.at.Sub(s.from.at).Seconds() }

// cpuCores is the server's CPU use in cores (1.0 = one core busy).
func (s span) cpuCores() float64 { return (s.to.cpu - s.from.cpu).Seconds() / s.seconds() }

// benchCores is the client's (this process's) CPU use in cores.
func (s span) benchCores() float64 { return (s.to.benchCPU - s.from.benchCPU).Seconds() / s.seconds() }

func (s span) readMiBs() float64 {
	return float64(s.to.readBytes-s.from.readBytes) / (1 << 20) / s.seconds()
}

func (s span) writeMiBs() float64 {
	return float64(s.to.wroteByte-s.from.wroteByte) / (1 << 20) / s.seconds()
}

// diskUtil is the fraction of the time the disk had I/O in flight.
func (s span) diskUtil() float64 { return (s.to.diskBusy - s.from.diskBusy).Seconds() / s.seconds() }

// cpuPressure and ioPressure are the fractions of the time some task of
// the machine waited for a CPU, or for I/O.
func (s span) cpuPressure() float64 { return (s.to.cpuStall - s.from.cpuStall).Seconds() / s.seconds() }
func (s span) ioPressure() float64  { return (s.to.ioStall - s.from.ioStall).Seconds() / s.seconds() }

// stallsPerSec is the machine's allocation stalls (direct reclaim) per second.
func (s span) stallsPerSec() float64 { return float64(s.to.stalls-s.from.stalls) / s.seconds() }
