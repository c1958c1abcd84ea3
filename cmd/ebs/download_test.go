package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// readEnv is a server, an SDK client for it and a state directory, for
// the tests of the reading commands.
type readEnv struct {
	api   *ebs.Client
	state string
}

func newReadEnv(tb testing.TB) *readEnv {
	tb.Helper()
	srv := ebstest.Start(tb, ebstest.Options{})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tb.Cleanup(tr.CloseIdleConnections) // before the server stops
	return &readEnv{api: ebstest.NewClient(srv.URL, ebstest.Alice, &http.Client{Transport: tr}), state: tb.TempDir()}
}

// ebs runs one ebs command line against api (e.api when nil) and returns
// the exit code, stdout and stderr.
func (e *readEnv) ebs(ctx context.Context, api apiClient, args ...string) (int, string, string) {
	if api == nil {
		api = e.api
	}
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, NewAPI: func(context.Context, *Globals) (apiClient, error) { return api, nil }}
	args = append([]string{args[0], "--state-dir", e.state, "--workers", "4"}, args[1:]...)
	code := m.Run(ctx, args)
	return code, out.String(), errb.String()
}

// start starts a snapshot of 1 GiB (with parent, if not "") and writes
// blocks into it.
func (e *readEnv) start(tb testing.TB, parent string, blocks map[int32][]byte) string {
	tb.Helper()
	in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)}
	if parent != "" {
		in.ParentSnapshotId = aws.String(parent)
	}
	out, err := e.api.StartSnapshot(context.Background(), in)
	if err != nil {
		tb.Fatalf("StartSnapshot: %v", err)
	}
	for i, b := range blocks {
		_, err := e.api.PutSnapshotBlock(context.Background(), &ebs.PutSnapshotBlockInput{
			SnapshotId: out.SnapshotId, BlockIndex: aws.Int32(i), BlockData: bytes.NewReader(b),
			DataLength: aws.Int32(int32(len(b))), Checksum: aws.String(ebstest.Checksum(b)),
			ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		})
		if err != nil {
			tb.Fatalf("PutSnapshotBlock: %v", err)
		}
	}
	return *out.SnapshotId
}

// complete completes snapshot id, into which blocks were written.
func (e *readEnv) complete(id string, blocks map[int32][]byte) error {
	idx := make([]int32, 0, len(blocks))
	for i := range blocks {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	ordered := make([][]byte, len(idx))
	for k, i := range idx {
		ordered[k] = blocks[i]
	}
	count := int32(len(blocks))
	_, err := e.api.CompleteSnapshot(context.Background(), &ebs.CompleteSnapshotInput{
		SnapshotId: aws.String(id), ChangedBlocksCount: &count,
		Checksum:                  aws.String(ebstest.Linear(ordered...)),
		ChecksumAlgorithm:         types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	})
	return err
}

// snapshot creates a completed snapshot.
func (e *readEnv) snapshot(tb testing.TB, parent string, blocks map[int32][]byte) string {
	tb.Helper()
	id := e.start(tb, parent, blocks)
	if err := e.complete(id, blocks); err != nil {
		tb.Fatalf("CompleteSnapshot: %v", err)
	}
	return id
}

// sameVolume checks that the file at path is the 1 GiB volume holding
// blocks (zeros elsewhere).
func sameVolume(tb testing.TB, path string, blocks map[int32][]byte) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Size() != 1<<30 {
		tb.Fatalf("%s: %d bytes, want 1 GiB", path, fi.Size())
	}
	// Holes read as zeros: only the extents with data are read, which
	// saves reading a GiB (seconds under -race) per check.
	data := dataExtents(tb, f, 1<<30)
	got, zero := make([]byte, client.BlockSize), make([]byte, client.BlockSize)
	for i := int32(0); i < 2048; i++ {
		want, ok := blocks[i]
		if !ok {
			want = zero
		}
		off := int64(i) * client.BlockSize
		if !data.overlaps(off, off+client.BlockSize) {
			if !bytes.Equal(want, zero) {
				tb.Fatalf("%s: block %d is a hole", path, i)
			}
			continue
		}
		if _, err := f.ReadAt(got, off); err != nil {
			tb.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			tb.Fatalf("%s: block %d differs", path, i)
		}
	}
}

// Linux's lseek whences (lseek(2)); elsewhere Seek refuses them and the
// whole file counts as data.
const (
	seekData = 3
	seekHole = 4
)

// extents are [start, end) byte ranges of a file.
type extents [][2]int64

func (x extents) overlaps(start, end int64) bool {
	for _, e := range x {
		if e[0] < end && start < e[1] {
			return true
		}
	}
	return false
}

// dataExtents returns the ranges of f (of size bytes) that may hold data,
// found with SEEK_DATA and SEEK_HOLE; all of it where those are refused.
func dataExtents(tb testing.TB, f *os.File, size int64) extents {
	tb.Helper()
	var x extents
	for off := int64(0); off < size; {
		start, err := f.Seek(off, seekData)
		if err != nil {
			if errors.Is(err, syscall.ENXIO) {
				break // no data after off
			}
			return extents{{0, size}}
		}
		end, err := f.Seek(start, seekHole)
		if err != nil {
			return extents{{0, size}}
		}
		x = append(x, [2]int64{start, end})
		off = end
	}
	return x
}

// failingGets fails every GetSnapshotBlock after the first ok ones.
type failingGets struct {
	apiClient
	ok int64
	n  atomic.Int64
}

func (f *failingGets) GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, o ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error) {
	if f.n.Add(1) > f.ok {
		return nil, &types.AccessDeniedException{Message: aws.String("User is not authorized"), Reason: types.AccessDeniedExceptionReasonUnauthorizedAccount}
	}
	return f.apiClient.GetSnapshotBlock(ctx, in, o...)
}

func TestDownloadCommand(t *testing.T) {
	ctx := context.Background()
	e := newReadEnv(t)
	blocks := map[int32][]byte{}
	for i := int32(0); i < 12; i++ {
		blocks[i*7] = ebstest.Random(uint64(i))
	}
	blocks[100] = make([]byte, client.BlockSize)
	id := e.snapshot(t, "", blocks)
	dir := t.TempDir()

	t.Run("download", func(t *testing.T) {
		path := filepath.Join(dir, "a.img")
		code, out, errOut := e.ebs(ctx, nil, "download", id, path)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if out != "" || !strings.Contains(errOut, "downloaded "+id) || !strings.Contains(errOut, "13 blocks (12 written, 1 zero, 0 resumed)") {
			t.Errorf("stdout %q, stderr %q: want the summary on stderr only", out, errOut)
		}
		sameVolume(t, path, blocks)
	})
	t.Run("json", func(t *testing.T) {
		path := filepath.Join(dir, "b.img")
		code, out, errOut := e.ebs(ctx, nil, "download", "--json", "--quiet", id, path)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("--json output %q: %v", out, err)
		}
		for k, v := range map[string]any{"snapshot_id": id, "path": path, "volume_size_gib": 1.0, "blocks": 13.0, "written": 12.0,
			"zero": 1.0, "resumed": 0.0, "bytes_received": 13.0 * client.BlockSize, "device": false} {
			if res[k] != v {
				t.Errorf("%s = %v, want %v", k, res[k], v)
			}
		}
		if _, ok := res["duration_seconds"]; !ok {
			t.Error("no duration_seconds")
		}
	})
	t.Run("existing file", func(t *testing.T) {
		path := filepath.Join(dir, "a.img")
		code, _, errOut := e.ebs(ctx, nil, "download", id, path)
		if code != 1 || !strings.Contains(errOut, "already exists") || !strings.Contains(errOut, "--force") {
			t.Errorf("exit %d, stderr %q: want a refusal naming --force", code, errOut)
		}
		if code, _, errOut := e.ebs(ctx, nil, "download", id, path, "--force"); code != 0 {
			t.Errorf("--force: exit %d: %s", code, errOut)
		}
	})
	t.Run("resume over an unrelated file", func(t *testing.T) {
		// Review F3: --resume with no journal about the file must not
		// truncate it.
		path := filepath.Join(dir, "precious.txt")
		precious := "precious user data that is not a download\n"
		if err := os.WriteFile(path, []byte(precious), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := e.ebs(ctx, nil, "download", "--quiet", "--resume", id, path)
		if code != 1 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "--force") {
			t.Errorf("exit %d, stderr %q: want a refusal naming the file and --force", code, errOut)
		}
		if got, _ := os.ReadFile(path); string(got) != precious {
			t.Fatalf("the file was changed: now %d bytes", len(got))
		}
	})
	t.Run("failure then resume", func(t *testing.T) {
		path := filepath.Join(dir, "c.img")
		code, _, errOut := e.ebs(ctx, &failingGets{apiClient: e.api, ok: 5}, "download", "--workers", "1", id, path)
		if code != 1 || !strings.Contains(errOut, "ebs download --resume "+id+" "+path) || !strings.Contains(errOut, "permission") {
			t.Fatalf("exit %d, stderr %q: want the error explained and how to resume", code, errOut)
		}
		code, out, errOut := e.ebs(ctx, nil, "download", "--resume", "--json", id, path)
		if code != 0 {
			t.Fatalf("--resume: exit %d: %s", code, errOut)
		}
		var res client.DownloadResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if res.Resumed != 5 || res.Written+res.Zero != 8 {
			t.Errorf("resumed %d, downloaded %d; want 5 and 8", res.Resumed, res.Written+res.Zero)
		}
		sameVolume(t, path, blocks)
	})
	t.Run("not readable", func(t *testing.T) {
		pending := e.start(t, "", nil)
		code, _, errOut := e.ebs(ctx, nil, "download", pending, filepath.Join(dir, "d.img"))
		if code != 1 || !strings.Contains(errOut, "not completed yet") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("usage", func(t *testing.T) {
		if code, _, errOut := e.ebs(ctx, nil, "download", id); code != 2 || !strings.Contains(errOut, "expected 2 argument(s)") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

// TestBarObserverEndsIncomplete guards the interrupted download on a
// terminal: the progress bar of a transfer that stopped short of its
// total must still end (mpb waited forever for it).
func TestBarObserverEndsIncomplete(t *testing.T) {
	for _, tc := range []struct{ total, done int64 }{{100, 0}, {100, 5}, {100, 100}, {0, 0}} {
		b := &barObserver{w: io.Discard}
		b.Begin("download", tc.total, tc.total*client.BlockSize)
		for range tc.done {
			b.Block(client.Written, client.BlockSize)
		}
		ended := make(chan struct{})
		go func() { b.End(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatalf("End of a bar at %d of %d blocks hangs", tc.done, tc.total)
		}
	}
}

// fatalRecorder is a testing.TB whose Fatal stops the helper under test
// and records why, so that a test can check that the helper fails.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	panic(r)
}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r)
}

// TestSameVolume: the check reads only the data extents of a sparse
// volume, yet catches a wrong block, a missing one and an extra one.
func TestSameVolume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	data := ebstest.Random(1)
	for _, w := range []struct {
		i int64
		b []byte
	}{{3, data}, {7, make([]byte, client.BlockSize)}, {2047, data}} {
		if _, err := f.WriteAt(w.b, w.i*client.BlockSize); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, tc := range []struct {
		name   string
		blocks map[int32][]byte
		want   string // "" passes
	}{
		{"same", map[int32][]byte{3: data, 2047: data}, ""},
		{"zero block expected", map[int32][]byte{3: data, 7: make([]byte, client.BlockSize), 2047: data}, ""},
		{"wrong content", map[int32][]byte{3: ebstest.Random(2), 2047: data}, "block 3 differs"},
		{"missing block", map[int32][]byte{3: data, 5: data, 2047: data}, "block 5 is a hole"},
		{"extra block", map[int32][]byte{3: data}, "block 2047 differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &fatalRecorder{TB: t}
			func() {
				defer func() {
					if v := recover(); v != nil && v != r {
						panic(v)
					}
				}()
				sameVolume(r, path, tc.blocks)
			}()
			if (tc.want == "") != (r.msg == "") || !strings.Contains(r.msg, tc.want) {
				t.Fatalf("sameVolume: %q, want %q", r.msg, tc.want)
			}
		})
	}
}
