package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// nbdTool returns the path of an NBD client program. Without it the test
// is skipped, or fails when CI is set: scripts/test.sh installs
// libnbd-bin (nbdinfo, nbdcopy) and qemu-utils (qemu-img, qemu-io).
func nbdTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not on PATH; scripts/test.sh installs libnbd-bin and qemu-utils", name)
		}
		t.Skipf("%s is not on PATH (apt-get install libnbd-bin qemu-utils)", name)
	}
	return p
}

// runTool runs an NBD client for at most 15 s and returns its output and
// whether it succeeded.
func runTool(t *testing.T, name string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, nbdTool(t, name), args...).CombinedOutput()
	return string(out), err == nil
}

func mustTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, ok := runTool(t, name, args...)
	if !ok {
		t.Fatalf("%s %s failed:\n%s", name, strings.Join(args, " "), out)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// nbdRun is an ebs nbd running in-process.
type nbdRun struct {
	uri    string
	lines  chan string   // stdout after the URI
	code   int           // once done is closed
	done   chan struct{} // closed when ebs nbd returned
	stderr *syncBuffer
	stop   context.CancelFunc
}

// startNbd runs ebs nbd with args and waits for the URI it prints.
func (e *readEnv) startNbd(t *testing.T, api apiClient, args ...string) *nbdRun {
	t.Helper()
	if api == nil {
		api = e.api
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &nbdRun{lines: make(chan string, 10), done: make(chan struct{}), stderr: &syncBuffer{}, stop: cancel}
	m := &Main{Stdout: pw, Stderr: r.stderr, NewAPI: func(context.Context, *Globals) (apiClient, error) { return api, nil }}
	go func() {
		r.code = m.Run(ctx, append([]string{"nbd", "--state-dir", e.state, "--workers", "8"}, args...))
		pw.Close()
		close(r.done)
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	select {
	case r.uri = <-r.lines:
	case <-time.After(10 * time.Second):
		t.Fatalf("ebs nbd printed no URI; stderr:\n%s", r.stderr)
	}
	if r.uri == "" {
		<-r.done
		t.Fatalf("ebs nbd exited (code %d); stderr:\n%s", r.code, r.stderr)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("ebs nbd did not stop")
		}
	})
	return r
}

// wait waits for ebs nbd to exit and returns its code and the lines it
// printed after the URI.
func (r *nbdRun) wait(t *testing.T) (int, []string) {
	t.Helper()
	var lines []string
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				<-r.done
				return r.code, lines
			}
			lines = append(lines, l)
		case <-timeout:
			t.Fatalf("ebs nbd did not exit; stderr:\n%s", r.stderr)
		}
	}
}

// nbdImage writes a sparse image of an unaligned size with data in a few
// places and uploads it; it returns the image's path and bytes and the
// snapshot's ID.
func (e *readEnv) nbdImage(t *testing.T) (string, []byte, string) {
	t.Helper()
	img := make([]byte, 50<<20+4096+100)
	copy(img[10<<20:], bytes.Repeat(ebstest.Random(1), 6))    // 3 MiB at 10 MiB
	copy(img[40960000:], ebstest.Random(2)[:4096])            // 4 KiB inside block 78
	copy(img[len(img)-100:], bytes.Repeat([]byte{0x5a}, 100)) // the unaligned tail
	path := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := e.ebs(context.Background(), nil, "upload", "--quiet", path)
	if code != 0 {
		t.Fatalf("upload: %d %s", code, errs)
	}
	return path, img, strings.TrimSpace(out)
}

// TestNbdReadOnly serves an uploaded image and reads it with qemu's and
// libnbd's clients: the whole export bit-exact (one and four
// connections), its holes, its size.
func TestNbdReadOnly(t *testing.T) {
	e := newReadEnv(t)
	path, img, snap := e.nbdImage(t)
	for _, listen := range []string{"tcp", "unix"} {
		t.Run(listen, func(t *testing.T) {
			args := []string{"--listen", "127.0.0.1:0", snap}
			if listen == "unix" {
				args = []string{"--socket", filepath.Join(t.TempDir(), "nbd.sock"), snap}
			}
			r := e.startNbd(t, nil, args...)
			var info struct {
				Exports []struct {
					Size      int64    `json:"export-size"`
					MultiConn bool     `json:"can_multi_conn"`
					ReadOnly  bool     `json:"is_read_only"`
					Contexts  []string `json:"contexts"`
				} `json:"exports"`
			}
			if err := json.Unmarshal([]byte(mustTool(t, "nbdinfo", "--json", r.uri)), &info); err != nil {
				t.Fatal(err)
			}
			if x := info.Exports[0]; x.Size != int64(len(img)) || !x.MultiConn || !x.ReadOnly || !slices.Contains(x.Contexts, "base:allocation") {
				t.Fatalf("nbdinfo --json: %+v (image %d bytes)", x, len(img))
			}
			// Holes and data by 512 KiB block: 10 MiB hole, 3 MiB data,
			// hole to block 78, block 78, hole, the tail's block.
			wantMap := []string{"0 10485760 3 hole,zero", "10485760 3145728 0 data", "13631488 27262976 3 hole,zero",
				"40894464 524288 0 data", "41418752 11010048 3 hole,zero", "52428800 4196 0 data"}
			var gotMap []string
			for _, l := range strings.Split(strings.TrimSpace(mustTool(t, "nbdinfo", "--map", r.uri)), "\n") {
				gotMap = append(gotMap, strings.Join(strings.Fields(l), " "))
			}
			if !slices.Equal(gotMap, wantMap) {
				t.Fatalf("nbdinfo --map:\n%s\nwant\n%s", strings.Join(gotMap, "\n"), strings.Join(wantMap, "\n"))
			}
			mustTool(t, "qemu-img", "compare", "-f", "raw", "-F", "raw", path, r.uri)
			for _, conns := range []string{"1", "4"} {
				out := filepath.Join(t.TempDir(), "copy.raw")
				mustTool(t, "nbdcopy", "--connections="+conns, r.uri, out)
				if got, _ := os.ReadFile(out); !bytes.Equal(got, img) {
					t.Fatalf("nbdcopy --connections=%s copied other bytes", conns)
				}
			}
			if out, ok := runTool(t, "qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", r.uri); ok {
				t.Fatalf("a write to a read-only export succeeded:\n%s", out)
			}
		})
	}
}

// TestNbdWritable: a writable session's writes become a child snapshot
// holding only the changed blocks, which ebs download returns with the
// writes applied; with --commit never they wait in the overlay for
// --commit now.
func TestNbdWritable(t *testing.T) {
	e := newReadEnv(t)
	_, img, snap := e.nbdImage(t)
	want := bytes.Clone(img)
	copy(want[1<<20:], bytes.Repeat([]byte{0xab}, 64<<10))
	copy(want[11<<20+4096:], bytes.Repeat([]byte{0xcd}, 4096))

	check := func(t *testing.T, child string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "child.raw")
		// The child is tagged with the image size, which only the EC2 API
		// reads: this test has only the EBS API.
		if code, _, errs := e.ebs(context.Background(), nil, "download", "--size", strconv.Itoa(len(want)), child, out); code != 0 {
			t.Fatalf("download %s: %s", child, errs)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
			t.Fatalf("the child is not the image with the writes (%d bytes)", len(got))
		}
		cb, err := e.api.ListChangedBlocks(context.Background(), &ebs.ListChangedBlocksInput{FirstSnapshotId: aws.String(snap), SecondSnapshotId: aws.String(child)})
		if err != nil {
			t.Fatal(err)
		}
		var changed []int32
		for _, b := range cb.ChangedBlocks {
			changed = append(changed, *b.BlockIndex)
		}
		if !slices.Equal(changed, []int32{2, 22}) {
			t.Fatalf("child %s changed blocks %v, want [2 22]", child, changed)
		}
	}
	qemuIO := func(uri string) {
		mustTool(t, "qemu-io", "-f", "raw", "-c", "write -P 0xab 1M 64k", "-c", "write -P 0xcd 11268k 4k", uri)
	}

	t.Run("commit on disconnect", func(t *testing.T) {
		r := e.startNbd(t, nil, "--listen", "127.0.0.1:0", "--writable", "--commit", "on-disconnect", "--wait", snap)
		qemuIO(r.uri)
		code, lines := r.wait(t)
		if code != 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "snap-") {
			t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, lines, r.stderr)
		}
		check(t, lines[0])
	})
	t.Run("never, then now", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "s")
		r := e.startNbd(t, nil, "--socket", sock, "--writable", snap)
		qemuIO(r.uri)
		r.stop() // SIGINT
		if code, lines := r.wait(t); code != 0 || len(lines) != 0 {
			t.Fatalf("exit %d, stdout %q", code, lines)
		}
		if !strings.Contains(r.stderr.String(), "2 written blocks are kept in") {
			t.Fatalf("stderr:\n%s", r.stderr)
		}
		code, out, errs := e.ebs(context.Background(), nil, "nbd", "--writable", "--commit", "now", "--wait", snap)
		if code != 0 {
			t.Fatalf("--commit now: %d %s", code, errs)
		}
		check(t, strings.TrimSpace(out))
		if _, err := os.Stat(filepath.Join(e.state, "nbd", snap+".overlay")); !os.IsNotExist(err) {
			t.Fatalf("the overlay is still there after the commit: %v", err)
		}
	})
}

// TestNbdCorruptBlock: a block that fails verification every time is an
// I/O error to the client, never data.
func TestNbdCorruptBlock(t *testing.T) {
	e := newReadEnv(t)
	_, _, snap := e.nbdImage(t)
	r := e.startNbd(t, &corruptingGets{apiClient: e.api}, "--listen", "127.0.0.1:0", snap)
	out, ok := runTool(t, "qemu-io", "-f", "raw", "-r", "-c", "read -v 10M 4k", r.uri)
	if ok || !strings.Contains(out, "Input/output error") {
		t.Fatalf("qemu-io read of a corrupt block: ok=%v\n%s", ok, out)
	}
	if strings.Contains(out, "00a00000:") {
		t.Fatalf("data was shown:\n%s", out)
	}
}

// corruptingGets flips a bit in every block it gets.
type corruptingGets struct{ apiClient }

func (c *corruptingGets) GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, opt ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error) {
	out, err := c.apiClient.GetSnapshotBlock(ctx, in, opt...)
	if err != nil {
		return out, err
	}
	b, _ := io.ReadAll(out.BlockData)
	out.BlockData.Close()
	b[0] ^= 1
	out.BlockData = io.NopCloser(bytes.NewReader(b))
	return out, nil
}

func TestNbdUsage(t *testing.T) {
	e := newReadEnv(t)
	for _, args := range [][]string{
		{"nbd", "--commit", "on-exit", "snap-0"},
		{"nbd", "--writable", "--commit", "sometimes", "snap-0"},
		{"nbd", "--socket", "/tmp/x", "--listen", "127.0.0.1:1", "snap-0"},
		{"nbd", "--cache-mib", "0", "snap-0"},
		{"nbd"},
	} {
		if code, _, errs := e.ebs(context.Background(), nil, args...); code != 2 {
			t.Errorf("ebs %s: exit %d, want 2 (%s)", strings.Join(args, " "), code, errs)
		}
	}
}
