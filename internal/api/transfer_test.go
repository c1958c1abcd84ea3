package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// TestSlowHandlerIsNotCanceled serves requests over a real connection
// whose handler works for three times Stall after the body is in (a slow
// synced write, a large listing). Read deadlines are for the client's
// bytes only: once the body is read, or when there is none, no deadline
// may remain for net/http's background read to hit, which would cancel the
// request's context.
func TestSlowHandlerIsNotCanceled(t *testing.T) {
	const stall = 300 * time.Millisecond
	slow := func(ctx context.Context) error {
		select {
		case <-time.After(3 * stall):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	block := bytes.Repeat([]byte{7}, ebs.BlockSize)
	svc := &fakeService{
		put: func(ctx context.Context, in snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error) {
			if _, err := io.Copy(io.Discard, in.Body); err != nil {
				return nil, err
			}
			if err := slow(ctx); err != nil {
				return nil, err
			}
			return &snapshot.PutBlockOutput{Checksum: ebs.Sum(block).String(), ChecksumAlgorithm: "SHA256"}, nil
		},
		list: func(ctx context.Context, in snapshot.ListBlocksInput) (*snapshot.ListBlocksOutput, error) {
			if err := slow(ctx); err != nil {
				return nil, err
			}
			return &snapshot.ListBlocksOutput{ExpiryTime: testTime, VolumeSize: 1, BlockSize: ebs.BlockSize}, nil
		},
	}
	h := newHandler(t, svc, func(o *api.Options) {
		o.Transfer = api.TransferLimits{Stall: stall, MinRate: 1 << 20, Max: time.Second}
	})
	srv := httptest.NewUnstartedServer(h)
	// As the server sets it: a cap for handlers that set no deadlines.
	srv.Config.ReadTimeout = stall
	srv.Start()
	defer srv.Close()

	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		want   int
	}{
		{"PutSnapshotBlock", "PUT", "/snapshots/snap-0e3be26c9ccc164eb/blocks/1", block, http.StatusCreated},
		{"ListSnapshotBlocks, no body", "GET", "/snapshots/snap-0e3be26c9ccc164eb/blocks", nil, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != nil {
				body = bytes.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, body)
			req.Header.Set("X-Amz-Data-Length", "524288")
			req.Header.Set("X-Amz-Checksum", ebs.Sum(block).String())
			req.Header.Set("X-Amz-Checksum-Algorithm", "SHA256")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, msg, tc.want)
			}
		})
	}
}
