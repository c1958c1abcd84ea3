// Command ebs-nbdbench measures ebs nbd against a local ebsd, in one run:
//
//  1. time to first byte: ebs nbd started on a 1 TiB sparse snapshot
//     (a few MiB of data at both ends), until a client has read 4 KiB of
//     its last block;
//  2. sequential reads: nbdcopy of a dense snapshot of -size through ebs
//     nbd (--connections=-conns), against ebs download of the same
//     snapshot, alternating, -rounds of each, each ebs nbd fresh (cold
//     cache), with the CPU time each path's processes used (on a shared
//     machine the wall-clock ratio swings with the load; the CPU does
//     not);
//  3. random 4 KiB reads per second over that snapshot, -depth in
//     flight on one connection, for -duration (a small NBD client here).
//
// Usage:
//
//	go build -o /tmp/ebsd ./cmd/ebsd && go build -o /tmp/ebs ./cmd/ebs
//	go run ./cmd/ebs-nbdbench -ebsd /tmp/ebsd -ebs /tmp/ebs -size 1GiB
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ebsd/ebsd/internal/benchserver"
)

type options struct {
	ebsd, ebs, dir string
	sizeMiB        int64
	conns, rounds  int
	depth          int
	duration       time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var o options
	flag.StringVar(&o.ebsd, "ebsd", "ebsd", "the ebsd binary to start")
	flag.StringVar(&o.ebs, "ebs", "ebs", "the ebs binary")
	flag.StringVar(&o.dir, "dir", "", "working directory (default: a temporary one)")
	flag.Int64Var(&o.sizeMiB, "size-mib", 1024, "size of the dense image for the sequential and random reads, in MiB")
	flag.IntVar(&o.conns, "conns", 4, "nbdcopy --connections")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of download and nbdcopy (medians are reported)")
	flag.IntVar(&o.depth, "depth", 16, "random reads in flight")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long random reads run")
	flag.Parse()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "ebs-nbdbench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	for _, tool := range []string{"nbdcopy", "qemu-io"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (apt-get install libnbd-bin qemu-utils)", tool)
		}
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "ebs-nbdbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	srv, err := benchserver.Start(ctx, o.ebsd, filepath.Join(o.dir, "data"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	b := &bench{o: o, endpoint: srv.Endpoint, serverPid: srv.Pid()}

	// 1. Time to first byte on 1 TiB.
	sparse := filepath.Join(o.dir, "sparse.raw")
	if err := sparseImage(sparse, 1<<40); err != nil {
		return err
	}
	snap, err := b.upload(ctx, sparse)
	if err != nil {
		return err
	}
	os.Remove(sparse)
	var ttfbs []time.Duration
	for range 3 {
		d, err := b.ttfb(ctx, snap, 1<<40-512<<10)
		if err != nil {
			return err
		}
		ttfbs = append(ttfbs, d)
	}
	fmt.Printf("time to first byte, 1 TiB sparse snapshot (ebs nbd start to 4 KiB of the last block read by qemu-io): median %v of %v\n", median(ttfbs).Round(time.Millisecond), ttfbs)

	// 2. Sequential: ebs download against nbdcopy.
	dense := filepath.Join(o.dir, "dense.raw")
	sum, err := denseImage(dense, o.sizeMiB<<20)
	if err != nil {
		return err
	}
	snap, err = b.upload(ctx, dense)
	if err != nil {
		return err
	}
	os.Remove(dense)
	var dl, nc []float64
	var dlCPU, ncCPU []cpu
	for r := range o.rounds {
		out := filepath.Join(o.dir, fmt.Sprintf("dl-%d.raw", r))
		s0 := b.serverCPU()
		t0 := time.Now()
		cmd := b.ebsCmd(ctx, nil, "download", "--quiet", snap, out)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("download: %w", err)
		}
		dl = append(dl, mibps(o.sizeMiB, time.Since(t0)))
		dlCPU = append(dlCPU, cpu{ebs: used(cmd), ebsd: b.serverCPU() - s0})
		if err := check(out, sum); err != nil {
			return err
		}
		os.Remove(out)
		out = filepath.Join(o.dir, fmt.Sprintf("nbd-%d.raw", r))
		d, c, err := b.nbdcopy(ctx, snap, out)
		if err != nil {
			return err
		}
		nc = append(nc, mibps(o.sizeMiB, d))
		ncCPU = append(ncCPU, c)
		if err := check(out, sum); err != nil {
			return err
		}
		os.Remove(out)
	}
	fmt.Printf("sequential, %d MiB dense snapshot: ebs download %.0f MiB/s (%v), nbdcopy --connections=%d through ebs nbd %.0f MiB/s (%v): ratio %.2f\n",
		o.sizeMiB, medianF(dl), round(dl), o.conns, medianF(nc), round(nc), medianF(nc)/medianF(dl))
	dc, nn := medianCPU(dlCPU), medianCPU(ncCPU)
	fmt.Printf("CPU seconds per GiB (medians): ebs download %.2f (ebs %.2f + ebsd %.2f), nbdcopy through ebs nbd %.2f (ebs nbd %.2f + nbdcopy %.2f + ebsd %.2f): ratio %.2f\n",
		dc.total()/gib(o.sizeMiB), dc.ebs/gib(o.sizeMiB), dc.ebsd/gib(o.sizeMiB),
		nn.total()/gib(o.sizeMiB), nn.ebs/gib(o.sizeMiB), nn.nbdcopy/gib(o.sizeMiB), nn.ebsd/gib(o.sizeMiB), dc.total()/nn.total())

	// 3. Random 4 KiB reads.
	n, d, err := b.random(ctx, snap, o.sizeMiB<<20)
	if err != nil {
		return err
	}
	fmt.Printf("random 4 KiB reads, %d in flight, cold start, %d MiB snapshot, default cache (256 MiB): %d reads in %v = %.0f reads/s\n",
		o.depth, o.sizeMiB, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
	return nil
}

type bench struct {
	o         options
	endpoint  string
	serverPid int
	state     int
}

// cpu is the CPU time, in seconds, each process of a path used.
type cpu struct{ ebs, nbdcopy, ebsd float64 }

func (c cpu) total() float64 { return c.ebs + c.nbdcopy + c.ebsd }

// medianCPU is the round whose total is the median.
func medianCPU(cs []cpu) cpu {
	s := slices.Clone(cs)
	slices.SortFunc(s, func(a, b cpu) int { return cmp.Compare(a.total(), b.total()) })
	return s[len(s)/2]
}

func gib(mib int64) float64 { return float64(mib) / 1024 }

// used is the CPU time of a process that ended.
func used(cmd *exec.Cmd) float64 {
	if cmd.ProcessState == nil {
		return 0
	}
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}

// serverCPU is the CPU time ebsd used so far (Linux; 0 elsewhere).
func (b *bench) serverCPU() float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.serverPid))
	if err != nil {
		return 0
	}
	// Fields after the command (in parentheses, which may hold spaces):
	// utime and stime are the 12th and 13th, in clock ticks (100 a
	// second on Linux).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st float64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return (ut + st) / 100
}

// ebsCmd is an ebs command line against the server, with a fresh state
// directory when state is nil (no manifests: as on another machine).
func (b *bench) ebsCmd(ctx context.Context, stdout io.Writer, args ...string) *exec.Cmd {
	b.state++
	state := filepath.Join(b.o.dir, fmt.Sprintf("state-%d", b.state))
	cmd := exec.CommandContext(ctx, b.o.ebs, append([]string{args[0], "--endpoint-url", b.endpoint, "--state-dir", state}, args[1:]...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+benchserver.KeyID, "AWS_SECRET_ACCESS_KEY="+benchserver.Secret, "AWS_REGION=us-east-1")
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	return cmd
}

func (b *bench) upload(ctx context.Context, path string) (string, error) {
	var out bytes.Buffer
	if err := b.ebsCmd(ctx, &out, "upload", "--quiet", path).Run(); err != nil {
		return "", fmt.Errorf("upload %s: %w", path, err)
	}
	return strings.TrimSpace(out.String()), nil
}

// serve starts ebs nbd on snap and returns its URI and a stop function,
// which returns the CPU time it used.
func (b *bench) serve(ctx context.Context, snap string) (string, func() float64, error) {
	pr, pw := io.Pipe()
	cmd := b.ebsCmd(ctx, pw, "nbd", "--quiet", "--listen", "127.0.0.1:0", snap)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() float64 {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		pw.Close()
		return used(cmd)
	}
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("ebs nbd printed no URI: %w", err)
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimSpace(line), stop, nil
}

// ttfb is the time from starting ebs nbd until qemu-io has read 4 KiB at
// off.
func (b *bench) ttfb(ctx context.Context, snap string, off int64) (time.Duration, error) {
	t0 := time.Now()
	uri, stop, err := b.serve(ctx, snap)
	if err != nil {
		return 0, err
	}
	defer stop()
	out, err := exec.CommandContext(ctx, "qemu-io", "-f", "raw", "-r", "-c", fmt.Sprintf("read %d 4k", off), uri).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("qemu-io: %v\n%s", err, out)
	}
	return time.Since(t0), nil
}

// nbdcopy copies snap to out with nbdcopy through a fresh ebs nbd and
// returns how long it took and the CPU time used.
func (b *bench) nbdcopy(ctx context.Context, snap, out string) (time.Duration, cpu, error) {
	s0 := b.serverCPU()
	t0 := time.Now()
	uri, stop, err := b.serve(ctx, snap)
	if err != nil {
		return 0, cpu{}, err
	}
	cmd := exec.CommandContext(ctx, "nbdcopy", fmt.Sprintf("--connections=%d", b.o.conns), uri, out)
	o, err := cmd.CombinedOutput()
	d := time.Since(t0)
	c := cpu{ebs: stop(), nbdcopy: used(cmd), ebsd: b.serverCPU() - s0}
	if err != nil {
		return 0, cpu{}, fmt.Errorf("nbdcopy: %v\n%s", err, o)
	}
	return d, c, nil
}

// random reads 4 KiB at random aligned offsets below size, depth at a
// time, for the duration, with a minimal NBD client (NBD_OPT_GO, simple
// replies).
func (b *bench) random(ctx context.Context, snap string, size int64) (int, time.Duration, error) {
	uri, stop, err := b.serve(ctx, snap)
	if err != nil {
		return 0, 0, err
	}
	defer stop()
	conn, err := net.Dial("tcp", strings.TrimPrefix(uri, "nbd://"))
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if err := handshake(conn, r); err != nil {
		return 0, 0, err
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	send := func(cookie uint64) error {
		h := binary.BigEndian.AppendUint32(nil, 0x25609513)
		h = binary.BigEndian.AppendUint32(h, 0) // flags, READ
		h = binary.BigEndian.AppendUint64(h, cookie)
		h = binary.BigEndian.AppendUint64(h, uint64(rnd.Int64N(size/4096))*4096)
		h = binary.BigEndian.AppendUint32(h, 4096)
		_, err := conn.Write(h)
		return err
	}
	for i := range b.o.depth {
		if err := send(uint64(i)); err != nil {
			return 0, 0, err
		}
	}
	t0 := time.Now()
	n := 0
	reply := make([]byte, 16+4096)
	for time.Since(t0) < b.o.duration {
		if _, err := io.ReadFull(r, reply); err != nil {
			return 0, 0, err
		}
		if e := binary.BigEndian.Uint32(reply[4:]); e != 0 {
			return 0, 0, fmt.Errorf("read failed: NBD error %d", e)
		}
		n++
		if err := send(uint64(n)); err != nil {
			return 0, 0, err
		}
	}
	return n, time.Since(t0), nil
}

// handshake negotiates the default export with NBD_OPT_GO, no options.
func handshake(w io.Writer, r *bufio.Reader) error {
	greet := make([]byte, 18)
	if _, err := io.ReadFull(r, greet); err != nil {
		return err
	}
	msg := binary.BigEndian.AppendUint32(nil, 3) // fixed newstyle, no zeroes
	msg = binary.BigEndian.AppendUint64(msg, 0x49484156454F5054)
	msg = binary.BigEndian.AppendUint32(msg, 7) // NBD_OPT_GO
	msg = binary.BigEndian.AppendUint32(msg, 6)
	msg = append(msg, 0, 0, 0, 0, 0, 0)
	if _, err := w.Write(msg); err != nil {
		return err
	}
	for {
		h := make([]byte, 20)
		if _, err := io.ReadFull(r, h); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, r, int64(binary.BigEndian.Uint32(h[16:]))); err != nil {
			return err
		}
		switch typ := binary.BigEndian.Uint32(h[12:]); {
		case typ == 1:
			return nil
		case typ&(1<<31) != 0:
			return fmt.Errorf("NBD_OPT_GO refused: %#x", typ)
		}
	}
}

// sparseImage makes a sparse image of size bytes with 4 MiB of data at
// each end.
func sparseImage(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	data := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{3, 4}).Read(data)
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	_, err = f.WriteAt(data, size-int64(len(data)))
	return err
}

// denseImage writes size bytes of random data and returns their SHA-256.
func denseImage(path string, size int64) ([32]byte, error) {
	f, err := os.Create(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	_, err = io.CopyN(io.MultiWriter(f, h), rand.NewChaCha8([32]byte{5, 6}), size)
	return [32]byte(h.Sum(nil)), err
}

func check(path string, want [32]byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if [32]byte(h.Sum(nil)) != want {
		return errors.New(path + " differs from the image")
	}
	return nil
}

func mibps(mib int64, d time.Duration) float64 { return float64(mib) / d.Seconds() }

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(f []float64) float64 {
	s := slices.Clone(f)
	slices.Sort(s)
	return s[len(s)/2]
}

func round(f []float64) []string {
	var out []string
	for _, v := range f {
		out = append(out, fmt.Sprintf("%.0f", v))
	}
	return out
}
