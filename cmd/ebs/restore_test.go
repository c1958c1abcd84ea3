package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/smithy-go"

	"github.com/ebsd/ebsd/internal/client"
)

// TestRestoreCommand checks the README's round trip (issue 16): 'ebs
// upload disk.raw', then 'ebs download SNAP restored.raw', and 'cmp
// disk.raw restored.raw' finds them identical, size included.
func TestRestoreCommand(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	path, img := writeImage(t, 6*client.BlockSize+3<<10)
	code, stdout, stderr := c.run(ctx, nil, "upload", "--no-sparse", "--tag", "team=storage", path)
	if code != 0 {
		t.Fatalf("upload: exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	size := strconv.Itoa(len(img))
	tests := []struct {
		name   string
		args   []string
		length int64  // of the restored file
		stderr string // a line of the summary
	}{
		{"recorded size", nil, int64(len(img)), "of " + size + " bytes (the uploaded image's)"},
		{"--size", []string{"--state-dir", t.TempDir(), "--size", size}, int64(len(img)), "of " + size + " bytes (--size)"},
		{"size not known", []string{"--state-dir", t.TempDir()}, 1 << 30, "--size BYTES restores the image's size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "restored.raw")
			code, _, stderr := c.run(ctx, nil, append(append([]string{"download"}, tc.args...), id, out)...)
			if code != 0 {
				t.Fatalf("download: exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(img)) // past it, zeros: the client's tests check that
			if _, err := io.ReadFull(f, got); err != nil || fi.Size() != tc.length || !bytes.Equal(got, img) {
				t.Errorf("restored file: %d bytes (%v), want %d starting with the image", fi.Size(), err, tc.length)
			}
		})
	}
}

// throttlingService serves at most k block requests at once and
// throttles the rest, after a round trip's delay.
type throttlingService struct {
	apiClient
	k        int64
	inflight atomic.Int64
}

func (s *throttlingService) admit(ctx context.Context) error {
	if s.inflight.Add(1) <= s.k {
		return nil
	}
	defer s.inflight.Add(-1)
	select {
	case <-time.After(time.Millisecond):
	case <-ctx.Done():
	}
	return &smithy.GenericAPIError{Code: "RequestThrottledException", Message: "Rate exceeded"}
}

func (s *throttlingService) PutSnapshotBlock(ctx context.Context, in *ebs.PutSnapshotBlockInput, o ...func(*ebs.Options)) (*ebs.PutSnapshotBlockOutput, error) {
	if err := s.admit(ctx); err != nil {
		return nil, err
	}
	defer s.inflight.Add(-1)
	return s.apiClient.PutSnapshotBlock(ctx, in, o...)
}

func (s *throttlingService) GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, o ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error) {
	if err := s.admit(ctx); err != nil {
		return nil, err
	}
	out, err := s.apiClient.GetSnapshotBlock(ctx, in, o...)
	if err != nil {
		s.inflight.Add(-1)
		return nil, err
	}
	data, err := io.ReadAll(out.BlockData)
	out.BlockData.Close()
	s.inflight.Add(-1)
	if err != nil {
		return nil, err
	}
	out.BlockData = io.NopCloser(bytes.NewReader(data))
	return out, nil
}

// TestThrottledCommands checks that upload and download under throttling
// finish and say, in -v output and in the summary, that they lowered
// their concurrency.
func TestThrottledCommands(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	path, img := writeImage(t, 48*client.BlockSize)
	svc := &throttlingService{apiClient: c.api, k: 2}
	code, stdout, stderr := c.run(ctx, svc, "upload", "-v", "--workers", "16", path)
	if code != 0 {
		t.Fatalf("upload: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"lowering concurrency", "throttled (concurrency lowered to"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("upload stderr lacks %q:\n%s", want, stderr)
		}
	}
	id := strings.TrimSpace(stdout)
	out := filepath.Join(t.TempDir(), "restored.raw")
	code, _, stderr = c.run(ctx, svc, "download", "-v", "--workers", "16", id, out)
	if code != 0 {
		t.Fatalf("download: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"lowering concurrency", "throttled (concurrency lowered to"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("download stderr lacks %q:\n%s", want, stderr)
		}
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, img) {
		t.Errorf("restored file differs from the image (%v)", err)
	}
}
