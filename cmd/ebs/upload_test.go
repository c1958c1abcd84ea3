package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// cli runs ebs commands against one in-process ebsd.
type cli struct {
	srv   *ebstest.Server
	api   *ebs.Client
	state string
}

func newCLI(tb testing.TB) *cli {
	tb.Helper()
	srv := ebstest.Start(tb, ebstest.Options{})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tb.Cleanup(tr.CloseIdleConnections)
	return &cli{srv: srv, api: ebstest.NewClient(srv.URL, ebstest.Alice, &http.Client{Transport: tr}), state: tb.TempDir()}
}

// run runs one command line with api (c.api when nil) as the service and
// returns the exit code, stdout and stderr.
func (c *cli) run(ctx context.Context, api apiClient, args ...string) (int, string, string) {
	if api == nil {
		api = c.api
	}
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, NewAPI: func(context.Context, *Globals) (apiClient, error) { return api, nil }}
	args = append([]string{args[0], "--state-dir", c.state, "--workers", "8"}, args[1:]...)
	code := m.Run(ctx, args)
	return code, out.String(), errb.String()
}

// writeImage writes a sparse image of size bytes (every third block
// random, the rest zero) and returns its path and content.
func writeImage(tb testing.TB, size int64) (string, []byte) {
	tb.Helper()
	r := rand.New(rand.NewPCG(uint64(size), 1))
	img := make([]byte, size)
	for off := int64(0); off < size; off += 3 * client.BlockSize {
		for i := off; i < min(off+client.BlockSize, size); i++ {
			img[i] = byte(r.Uint32())
		}
	}
	path := filepath.Join(tb.TempDir(), "disk.img")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path, img
}

// snapshotBytes reads snapshot id back with the SDK into n bytes.
func snapshotBytes(tb testing.TB, api *ebs.Client, id string, n int) []byte {
	tb.Helper()
	ctx := context.Background()
	out := make([]byte, (n+client.BlockSize-1)/client.BlockSize*client.BlockSize)
	list, err := api.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id), MaxResults: aws.Int32(10000)})
	if err != nil {
		tb.Fatalf("ListSnapshotBlocks: %v", err)
	}
	for _, b := range list.Blocks {
		g, err := api.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: aws.String(id), BlockIndex: b.BlockIndex, BlockToken: b.BlockToken})
		if err != nil {
			tb.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(g.BlockData)
		g.BlockData.Close()
		copy(out[int(aws.ToInt32(b.BlockIndex))*client.BlockSize:], buf.Bytes())
	}
	return out[:n]
}

func TestUploadCommand(t *testing.T) {
	c := newCLI(t)
	path, img := writeImage(t, 10*client.BlockSize+777)
	ctx := context.Background()

	code, stdout, stderr := c.run(ctx, nil, "upload", path, "--wait", "--description", "test image", "--tag", "team=storage", "--tag", "empty=")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	if !strings.HasPrefix(id, "snap-") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("stdout %q, want the snapshot ID alone", stdout)
	}
	for _, want := range []string{"snapshot " + id + " started", "snapshot " + id + " completed: 11 blocks: 4 written, 7 zero skipped", "MiB/s"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if got := snapshotBytes(t, c.api, id, len(img)); !bytes.Equal(got, img) {
		t.Error("the snapshot does not read back as the image")
	}

	// An incremental upload of the same image with --json sends nothing.
	code, stdout, stderr = c.run(ctx, nil, "upload", "--json", "--parent", id, "--wait", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	for k, want := range map[string]any{
		"status": "completed", "parent": id, "parent_source": "manifest", "written": 0.0, "unchanged": 4.0,
		"zero": 7.0, "blocks": 11.0, "changed_blocks": 0.0, "volume_size_gib": 1.0, "image": path,
		"image_bytes": float64(len(img)), "zero_blocks": "skip", "encrypted": false,
	} {
		if res[k] != want {
			t.Errorf("json %s = %v, want %v", k, res[k], want)
		}
	}
	if _, ok := res["duration_seconds"].(float64); !ok || res["snapshot_id"] == id {
		t.Errorf("json %v", res)
	}
	if strings.Contains(stderr, "blocks/s") {
		t.Errorf("--json on a non-terminal printed progress: %s", stderr)
	}

	// --quiet prints the ID only.
	code, stdout, stderr = c.run(ctx, nil, "upload", "--quiet", "--zero-blocks=upload", path)
	if code != 0 || !strings.HasPrefix(stdout, "snap-") || stderr != "" {
		t.Errorf("--quiet: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestUploadCommandErrors(t *testing.T) {
	c := newCLI(t)
	path, _ := writeImage(t, 3*client.BlockSize)
	big := filepath.Join(t.TempDir(), "big.img")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 2<<30+1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"missing file", []string{"upload", "/nonexistent/disk.img"}, 1, []string{"no such file or directory", "Check the path"}},
		{"too large", []string{"upload", "--volume-size", "2", big}, 2, []string{"image is 2147483649 bytes but the volume is 2 GiB; use --volume-size >= 3"}},
		{"no image", []string{"upload"}, 2, []string{"expected 1 argument"}},
		{"bad zero policy", []string{"upload", "--zero-blocks=maybe", path}, 2, []string{"--zero-blocks"}},
		{"bad tag", []string{"upload", "--tag", "novalue", path}, 2, []string{"want key=value"}},
		{"reserved tag", []string{"upload", "--tag", "aws:x=1", path}, 2, []string{"reserved"}},
		{"bad timeout", []string{"upload", "--timeout", "5", path}, 2, []string{"--timeout 5"}},
		{"resume with description", []string{"upload", "--resume", "snap-0123456789abcdef0", "--description", "x", path}, 2, []string{"not with --resume"}},
		{"unknown flag", []string{"upload", "--frobnicate", path}, 2, []string{"flag provided but not defined"}},
		{"unknown parent", []string{"upload", "--parent", "snap-0123456789abcdef0", path}, 1, []string{"ResourceNotFoundException", "Check the snapshot ID"}},
		{"directory", []string{"upload", t.TempDir()}, 1, []string{"is a directory"}},
		{"character device", []string{"upload", "/dev/null"}, 1, []string{"not a regular file or a block device"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := c.run(context.Background(), nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing: no snapshot was started", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// failingPuts answers AccessDenied to every put after the first n.
type failingPuts struct {
	apiClient
	n     int64
	calls atomic.Int64
}

func (f *failingPuts) PutSnapshotBlock(ctx context.Context, in *ebs.PutSnapshotBlockInput, opts ...func(*ebs.Options)) (*ebs.PutSnapshotBlockOutput, error) {
	if f.calls.Add(1) > f.n {
		return nil, &types.AccessDeniedException{Message: aws.String("User is not authorized"), Reason: types.AccessDeniedExceptionReasonUnauthorizedAccount}
	}
	return f.apiClient.PutSnapshotBlock(ctx, in, opts...)
}

func TestUploadCommandFailureAndResume(t *testing.T) {
	c := newCLI(t)
	path, img := writeImage(t, 40*client.BlockSize)
	ctx := context.Background()
	code, stdout, stderr := c.run(ctx, &failingPuts{apiClient: c.api, n: 5}, "upload", "--workers", "1", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	if !strings.HasPrefix(id, "snap-") {
		t.Fatalf("stdout %q: the snapshot ID must be printed on failure too", stdout)
	}
	for _, want := range []string{
		"AccessDeniedException", "lack permission",
		"Snapshot " + id + " is still pending: 'ebs upload --resume " + id + " " + path + "'",
		"after 60 minutes",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	code, stdout, stderr = c.run(ctx, nil, "upload", "--json", "--resume", id, "--wait", path)
	if code != 0 {
		t.Fatalf("resume: exit %d:\n%s", code, stderr)
	}
	var res client.UploadResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.SnapshotID != id || res.Status != "completed" || res.Resumed != 5 || res.Written != 14-5 {
		t.Errorf("resume result %+v, want 5 resumed and 9 written", res)
	}
	if got := snapshotBytes(t, c.api, id, len(img)); !bytes.Equal(got, img) {
		t.Error("the resumed snapshot does not read back as the image")
	}
}

func TestUploadCommandServiceErrors(t *testing.T) {
	c := newCLI(t)
	path, _ := writeImage(t, client.BlockSize)
	wrongSecret := ebstest.Alice
	wrongSecret.SecretAccessKey = "not-the-secret-key-00000000000000000000"
	unknown := ebstest.Alice
	unknown.AccessKeyID = "AKIAUNKNOWN000000000"
	hc := &http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		name string
		api  apiClient
		want string
	}{
		{"wrong secret", ebstest.NewClient(c.srv.URL, wrongSecret, hc), "secret key does not match"},
		{"unknown key", ebstest.NewClient(c.srv.URL, unknown, hc), "access key is not known"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := c.run(context.Background(), tt.api, "upload", path)
			if code != 1 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
			}
		})
	}
	t.Run("unreachable endpoint", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
		t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
		// Retries of a refused connection go on for minutes; a short
		// deadline shows what the user sees when they give up.
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb}
		code := m.Run(ctx, []string{"upload", "--state-dir", c.state, "--endpoint-url", "http://127.0.0.1:1", "--region", "us-east-1", path})
		if code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), "Nothing is listening at the endpoint") {
			t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out.String(), errb.String())
		}
	})
}

// cancelAfter cancels the command's context after n successful puts, as
// Ctrl-C would.
type cancelAfter struct {
	apiClient
	n      int64
	ok     atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) PutSnapshotBlock(ctx context.Context, in *ebs.PutSnapshotBlockInput, opts ...func(*ebs.Options)) (*ebs.PutSnapshotBlockOutput, error) {
	out, err := c.apiClient.PutSnapshotBlock(ctx, in, opts...)
	if err == nil && c.ok.Add(1) == c.n {
		c.cancel()
	}
	return out, err
}

func TestUploadCommandInterrupted(t *testing.T) {
	c := newCLI(t)
	path, _ := writeImage(t, 40*client.BlockSize)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code, stdout, stderr := c.run(ctx, &cancelAfter{apiClient: c.api, n: 3, cancel: cancel}, "upload", "--timeout", "30", path)
	id := strings.TrimSpace(stdout)
	if code != 1 || !strings.HasPrefix(id, "snap-") {
		t.Fatalf("exit %d, stdout %q:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"ebs upload: interrupted\n", "Snapshot " + id + " is still pending", "after 30 minutes"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestUploadCommandResumeUnknown(t *testing.T) {
	c := newCLI(t)
	path, _ := writeImage(t, 4*client.BlockSize)
	code, stdout, stderr := c.run(context.Background(), nil, "upload", "--resume", "snap-0123456789abcdef0", path)
	if code != 1 || strings.TrimSpace(stdout) != "snap-0123456789abcdef0" {
		t.Fatalf("exit %d, stdout %q:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "does not know snapshot snap-0123456789abcdef0 as pending") || strings.Contains(stderr, "still pending") {
		t.Errorf("stderr:\n%s", stderr)
	}
}
