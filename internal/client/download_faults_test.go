package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// flipByte returns a GetSnapshotBlock hook that corrupts one byte of the
// body of block index for its first times calls, keeping the service's
// checksum header: what a bad NIC or proxy would do.
func flipByte(api client.API, index int32, times int64) func(context.Context, *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
	var n atomic.Int64
	return func(ctx context.Context, in *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
		out, err := api.GetSnapshotBlock(ctx, in)
		if err != nil || *in.BlockIndex != index || n.Add(1) > times {
			return out, err
		}
		data, err := io.ReadAll(out.BlockData)
		out.BlockData.Close()
		if err != nil {
			return nil, err
		}
		data[12345] ^= 0x40
		out.BlockData = io.NopCloser(bytes.NewReader(data))
		return out, nil
	}
}

func TestDownloadChecksumMismatch(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	blocks := dlRandomBlocks(8, 12, 2048, 3)
	// One victim of each kind: a zero block is verified by comparing it
	// with zeros rather than hashing it, and must be caught all the same.
	victims := map[string]int32{}
	for i, b := range blocks {
		if bytes.Equal(b, make([]byte, client.BlockSize)) {
			victims["zero block"] = i
		} else {
			victims["data block"] = i
		}
	}
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})

	for name, victim := range victims {
		t.Run(name+", transient", func(t *testing.T) {
			h := &hookedAPI{API: api}
			h.get = flipByte(api, victim, 2)
			obs := &dlObserver{}
			c, _ := dlClient(t, h, 4, obs)
			path := filepath.Join(t.TempDir(), "disk.img")
			if _, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path}); err != nil {
				t.Fatalf("Download: %v", err)
			}
			dlCheckSparse(t, path, 1, blocks)
			if obs.retries.Load() != 2 || h.gets.Load() != int64(len(blocks))+2 {
				t.Errorf("%d retries, %d gets; want 2 retries of the corrupted block", obs.retries.Load(), h.gets.Load())
			}
		})
		t.Run(name+", persistent", func(t *testing.T) {
			h := &hookedAPI{API: api}
			h.get = flipByte(api, victim, 1000)
			c, _ := dlClient(t, h, 4, nil)
			path := filepath.Join(t.TempDir(), "disk.img")
			_, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path})
			var ce *client.ChecksumError
			if !errors.As(err, &ce) || ce.Index != victim {
				t.Fatalf("Download error = %v, want a ChecksumError for block %d", err, victim)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !dlIsHole(t, f, int64(victim)*client.BlockSize) {
				t.Error("the unverified block was written")
			}
		})
	}
}

// dlFlakyTransport breaks some GetSnapshotBlock requests at the HTTP
// level, under the real SDK: the connection is reset before an answer,
// or the body is cut short.
type dlFlakyTransport struct {
	rt       http.RoundTripper
	n        atomic.Int64
	failures int64 // how many requests fail, alternating the two ways
	resets   atomic.Int64
	cuts     atomic.Int64
}

var getBlockPath = regexp.MustCompile(`^/snapshots/[^/]+/blocks/\d+$`)

func (d *dlFlakyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !getBlockPath.MatchString(req.URL.Path) {
		return d.rt.RoundTrip(req)
	}
	k := d.n.Add(1)
	if k <= d.failures && k%2 == 1 {
		d.resets.Add(1)
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	resp, err := d.rt.RoundTrip(req)
	if err == nil && k <= d.failures {
		d.cuts.Add(1)
		resp.Body = cutBody{io.LimitReader(resp.Body, 1000), resp.Body}
	}
	return resp, err
}

// cutBody ends after what r yields with io.ErrUnexpectedEOF, like a
// connection dropped mid-body.
type cutBody struct {
	r io.Reader
	c io.Closer
}

func (b cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b cutBody) Close() error { return b.c.Close() }

// dlHTTPError wraps err as the SDK does an error response of status.
func dlHTTPError(status int, err error) error {
	return &smithy.OperationError{ServiceID: "EBS", OperationName: "GetSnapshotBlock", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
	}}
}

func TestDownloadRetries(t *testing.T) {
	srv, api := dlServer(t, ebstest.Options{})
	blocks := dlRandomBlocks(9, 16, 2048, 4)
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})

	t.Run("throttling and server errors", func(t *testing.T) {
		h := &hookedAPI{API: api}
		var n atomic.Int64
		h.get = func(ctx context.Context, in *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
			switch n.Add(1) {
			case 1, 2, 3, 5, 8:
				return nil, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
			case 4:
				return nil, dlHTTPError(500, &types.InternalServerException{Message: aws.String("boom")})
			}
			return api.GetSnapshotBlock(ctx, in)
		}
		obs := &dlObserver{}
		c, _ := dlClient(t, h, 4, obs)
		path := filepath.Join(t.TempDir(), "disk.img")
		if _, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path}); err != nil {
			t.Fatalf("Download: %v", err)
		}
		dlCheckSparse(t, path, 1, blocks)
		if obs.retries.Load() != 6 {
			t.Errorf("%d retries, want 6", obs.retries.Load())
		}
	})
	t.Run("dropped connections", func(t *testing.T) {
		tr := &dlFlakyTransport{rt: http.DefaultTransport.(*http.Transport).Clone(), failures: 10}
		hc := dlHTTPClient(tr)
		t.Cleanup(hc.CloseIdleConnections)
		obs := &dlObserver{}
		c, _ := dlClient(t, ebstest.NewClient(srv.URL, ebstest.Alice, hc), 4, obs)
		path := filepath.Join(t.TempDir(), "disk.img")
		if _, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path}); err != nil {
			t.Fatalf("Download: %v", err)
		}
		dlCheckSparse(t, path, 1, blocks)
		if tr.resets.Load() != 5 || tr.cuts.Load() != 5 || obs.retries.Load() != 10 {
			t.Errorf("%d resets, %d cut bodies, %d retries; want 5, 5, 10", tr.resets.Load(), tr.cuts.Load(), obs.retries.Load())
		}
	})
	t.Run("access denied is not retried", func(t *testing.T) {
		h := &hookedAPI{API: api}
		h.get = func(context.Context, *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
			return nil, &types.AccessDeniedException{Message: aws.String("no"), Reason: types.AccessDeniedExceptionReasonUnauthorizedAccount}
		}
		c, _ := dlClient(t, h, 4, nil)
		_, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: filepath.Join(t.TempDir(), "x")})
		var ad *types.AccessDeniedException
		if !errors.As(err, &ad) || h.gets.Load() > 4 {
			t.Errorf("err = %v after %d calls, want AccessDenied at once", err, h.gets.Load())
		}
	})
}

func TestDownloadExpiredTokens(t *testing.T) {
	clock := ebstest.NewClock(time.Now())
	_, api := dlServer(t, ebstest.Options{Clock: clock})
	blocks := dlRandomBlocks(10, 250, 2048, 0)
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})
	invalid := func(r types.ValidationExceptionReason) error {
		return &types.ValidationException{Message: aws.String("The token is invalid."), Reason: r}
	}

	t.Run("block token rejected once", func(t *testing.T) {
		h := &hookedAPI{API: api}
		var once sync.Once
		h.get = func(ctx context.Context, in *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
			var err error
			once.Do(func() { err = invalid(types.ValidationExceptionReasonInvalidBlockToken) })
			if err != nil {
				return nil, err
			}
			return api.GetSnapshotBlock(ctx, in)
		}
		c, _ := dlClient(t, h, 4, nil)
		path := filepath.Join(t.TempDir(), "disk.img")
		if _, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path}); err != nil {
			t.Fatalf("Download: %v", err)
		}
		dlCheckSparse(t, path, 1, blocks)
		// Count, download listing, one re-listing.
		if h.lists.Load() != 3 {
			t.Errorf("%d ListSnapshotBlocks calls, want 3", h.lists.Load())
		}
	})
	t.Run("block tokens expire mid-download", func(t *testing.T) {
		// The first block fetched moves the server's clock 8 days on:
		// every token listed so far is then past its 7 days.
		h := &hookedAPI{API: api}
		var once sync.Once
		h.get = func(ctx context.Context, in *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
			once.Do(func() { clock.Advance(8 * 24 * time.Hour) })
			return api.GetSnapshotBlock(ctx, in)
		}
		c, _ := dlClient(t, h, 4, nil)
		path := filepath.Join(t.TempDir(), "disk.img")
		if _, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path}); err != nil {
			t.Fatalf("Download: %v", err)
		}
		dlCheckSparse(t, path, 1, blocks)
		if h.lists.Load() < 3 {
			t.Errorf("%d ListSnapshotBlocks calls: the expired tokens were not refreshed by listing again", h.lists.Load())
		}
	})
	t.Run("page token rejected once", func(t *testing.T) {
		// Pages of 100, so that the download listing needs page tokens.
		h := &hookedAPI{API: api}
		var once sync.Once
		h.list = func(ctx context.Context, in *ebs.ListSnapshotBlocksInput) (*ebs.ListSnapshotBlocksOutput, error) {
			in.MaxResults = aws.Int32(100)
			if in.NextToken != nil {
				var err error
				once.Do(func() { err = invalid(types.ValidationExceptionReasonInvalidPageToken) })
				if err != nil {
					return nil, err
				}
			}
			return api.ListSnapshotBlocks(ctx, in)
		}
		c, _ := dlClient(t, h, 4, nil)
		path := filepath.Join(t.TempDir(), "disk.img")
		res, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path})
		if err != nil {
			t.Fatalf("Download: %v", err)
		}
		if res.Blocks != int64(len(blocks)) {
			t.Errorf("%d blocks downloaded, want %d", res.Blocks, len(blocks))
		}
		dlCheckSparse(t, path, 1, blocks)
	})
}
