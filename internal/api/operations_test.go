package api_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

func TestPutSnapshotBlockResponse(t *testing.T) {
	svc := &fakeService{}
	block := bytes.Repeat([]byte{1}, ebs.BlockSize)
	w := serve(t, newHandler(t, svc), httptest.NewRequest("PUT", "/snapshots/snap-1/blocks/0", bytes.NewReader(block)))
	checkSuccess(t, w, 201, "application/json")
	if got := w.Body.String(); got != "{}" {
		t.Errorf("body = %q, want {}", got)
	}
	if got := w.Header().Get("Content-Length"); got != "2" {
		t.Errorf("Content-Length = %q, want 2", got)
	}
	if got, want := w.Header().Get("X-Amz-Checksum"), "M6FQvOsTwamSIx5ltPrRaBUhL8Bs20CJltMu6yzvnrs="; got != want {
		t.Errorf("x-amz-Checksum = %q, want %q (the service's answer)", got, want)
	}
	if got := w.Header().Get("X-Amz-Checksum-Algorithm"); got != "SHA256" {
		t.Errorf("x-amz-Checksum-Algorithm = %q", got)
	}
}

// TestPutSnapshotBlockStreams checks that the service gets the request
// body itself (through the byte counter), not a copy made by the handler.
func TestPutSnapshotBlockStreams(t *testing.T) {
	var readBeforeService int
	body := &trackingReader{r: strings.NewReader("block")}
	svc := &fakeService{put: func(_ context.Context, in snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error) {
		readBeforeService = body.n
		b := make([]byte, 16)
		n, _ := in.Body.Read(b)
		if string(b[:n]) != "block" {
			t.Errorf("service read %q", b[:n])
		}
		return &snapshot.PutBlockOutput{Checksum: "c", ChecksumAlgorithm: "SHA256"}, nil
	}}
	r := httptest.NewRequest("PUT", "/snapshots/snap-1/blocks/0", nil)
	r.Body = body
	r.ContentLength = 5
	w := serve(t, newHandler(t, svc), r)
	if w.Code != 201 {
		t.Fatalf("status = %d", w.Code)
	}
	if readBeforeService != 0 {
		t.Errorf("the handler read %d body bytes before the service", readBeforeService)
	}
}

type trackingReader struct {
	r *strings.Reader
	n int
}

func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += n
	return n, err
}

func (t *trackingReader) Close() error { return nil }

func TestCompleteSnapshotResponse(t *testing.T) {
	svc := &fakeService{complete: func(context.Context, snapshot.CompleteInput) (*snapshot.CompleteOutput, error) {
		return &snapshot.CompleteOutput{Status: ebs.StatusCompleted}, nil
	}}
	w := serve(t, newHandler(t, svc), httptest.NewRequest("POST", "/snapshots/completion/snap-1", nil))
	checkSuccess(t, w, 202, "application/json")
	if got, want := w.Body.String(), `{"Status":"completed"}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestGetSnapshotBlockResponse(t *testing.T) {
	svc := &fakeService{}
	w := serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-1/blocks/3?blockToken=t", nil))
	checkSuccess(t, w, 200, "application/octet-stream")
	if w.Body.Len() != ebs.BlockSize || !bytes.Equal(w.Body.Bytes(), make([]byte, ebs.BlockSize)) {
		t.Errorf("body is %d bytes, want %d zero bytes", w.Body.Len(), ebs.BlockSize)
	}
	for k, want := range map[string]string{
		"Content-Length":           "524288",
		"X-Amz-Data-Length":        "524288",
		"X-Amz-Checksum":           ebs.Digest(ebs.ZeroBlockDigest).String(),
		"X-Amz-Checksum-Algorithm": "SHA256",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := svc.releases.Load(); got != 1 {
		t.Errorf("Release called %d times, want 1", got)
	}
}

// TestGetSnapshotBlockReleasesOnWriteError checks that the pooled buffer
// goes back to the service when the client is gone mid-body.
func TestGetSnapshotBlockReleasesOnWriteError(t *testing.T) {
	svc := &fakeService{}
	w := &failingWriter{header: http.Header{}}
	newHandler(t, svc).ServeHTTP(w, httptest.NewRequest("GET", "/snapshots/snap-1/blocks/3?blockToken=t", nil))
	if got := svc.releases.Load(); got != 1 {
		t.Errorf("Release called %d times, want 1", got)
	}
	if w.status != 200 {
		t.Errorf("status = %d, want 200 (already sent when the body failed)", w.status)
	}
}

// TestGetSnapshotBlockReleasesOnError checks that an output returned with
// an error is released too.
func TestGetSnapshotBlockReleasesOnError(t *testing.T) {
	svc := &fakeService{}
	var released bool
	svc.get = func(context.Context, snapshot.GetBlockInput) (*snapshot.GetBlockOutput, error) {
		return &snapshot.GetBlockOutput{Release: func() { released = true }}, ebs.SnapshotNotFound("GetSnapshotBlock", "snap-1")
	}
	w := serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-1/blocks/3?blockToken=t", nil))
	checkError(t, w, 404, "ResourceNotFoundException")
	if !released {
		t.Error("Release not called")
	}
}

type failingWriter struct {
	header http.Header
	status int
}

func (f *failingWriter) Header() http.Header       { return f.header }
func (f *failingWriter) WriteHeader(status int)    { f.status = status }
func (f *failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestListResponses checks the exact response bytes of both List
// operations, including their empty and last pages.
func TestListResponses(t *testing.T) {
	blocks := []struct {
		name string
		out  snapshot.ListBlocksOutput
		want string
	}{
		{"Page", snapshot.ListBlocksOutput{Blocks: []snapshot.Block{{BlockIndex: 0, BlockToken: "AlMB_Ha-VGpe"}, {BlockIndex: 2047, BlockToken: "b+/="}},
			ExpiryTime: time.UnixMilli(1790922504246), VolumeSize: 1, BlockSize: ebs.BlockSize, NextToken: "next"},
			`{"BlockSize":524288,"Blocks":[{"BlockIndex":0,"BlockToken":"AlMB_Ha-VGpe"},{"BlockIndex":2047,"BlockToken":"b+/="}],"ExpiryTime":1790922504.246,"NextToken":"next","VolumeSize":1}`},
		{"LastPage", snapshot.ListBlocksOutput{Blocks: []snapshot.Block{{BlockIndex: 5, BlockToken: "t"}}, ExpiryTime: time.UnixMilli(1790922504246), VolumeSize: 1, BlockSize: ebs.BlockSize},
			`{"BlockSize":524288,"Blocks":[{"BlockIndex":5,"BlockToken":"t"}],"ExpiryTime":1790922504.246,"NextToken":null,"VolumeSize":1}`},
		{"Empty", snapshot.ListBlocksOutput{ExpiryTime: time.UnixMilli(1790922504000), VolumeSize: 1, BlockSize: ebs.BlockSize},
			`{"BlockSize":524288,"Blocks":[],"ExpiryTime":1790922504,"NextToken":null,"VolumeSize":1}`},
		{"Zero", snapshot.ListBlocksOutput{},
			`{"BlockSize":null,"Blocks":[],"ExpiryTime":null,"NextToken":null,"VolumeSize":null}`},
	}
	for _, tc := range blocks {
		t.Run("Blocks"+tc.name, func(t *testing.T) {
			svc := &fakeService{list: func(context.Context, snapshot.ListBlocksInput) (*snapshot.ListBlocksOutput, error) {
				return &tc.out, nil
			}}
			w := serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil))
			checkSuccess(t, w, 200, "application/json")
			if got := w.Body.String(); got != tc.want {
				t.Errorf("body =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}

	changed := []struct {
		name string
		out  snapshot.ListChangedOutput
		want string
	}{
		{"Page", snapshot.ListChangedOutput{ChangedBlocks: []snapshot.ChangedBlock{
			{BlockIndex: 0, FirstBlockToken: "f0", SecondBlockToken: "s0"},
			{BlockIndex: 6002, FirstBlockToken: "f1"},
			{BlockIndex: 6003, SecondBlockToken: "s2"},
		}, ExpiryTime: time.UnixMilli(1592976647009), VolumeSize: 3, BlockSize: ebs.BlockSize, NextToken: "n"},
			`{"BlockSize":524288,"ChangedBlocks":[{"BlockIndex":0,"FirstBlockToken":"f0","SecondBlockToken":"s0"},{"BlockIndex":6002,"FirstBlockToken":"f1"},{"BlockIndex":6003,"SecondBlockToken":"s2"}],"ExpiryTime":1592976647.009,"LastEvaluatedBlockIndex":null,"NextToken":"n","VolumeSize":3}`},
		{"EmptyWithToken", snapshot.ListChangedOutput{ExpiryTime: time.UnixMilli(1592976647009), VolumeSize: 3, BlockSize: ebs.BlockSize, NextToken: "n"},
			`{"BlockSize":524288,"ChangedBlocks":[],"ExpiryTime":1592976647.009,"LastEvaluatedBlockIndex":null,"NextToken":"n","VolumeSize":3}`},
		{"EmptyLast", snapshot.ListChangedOutput{},
			`{"BlockSize":null,"ChangedBlocks":[],"ExpiryTime":null,"LastEvaluatedBlockIndex":null,"NextToken":null,"VolumeSize":null}`},
	}
	for _, tc := range changed {
		t.Run("Changed"+tc.name, func(t *testing.T) {
			svc := &fakeService{changed: func(context.Context, snapshot.ListChangedInput) (*snapshot.ListChangedOutput, error) {
				return &tc.out, nil
			}}
			w := serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-2/changedblocks?firstSnapshotId=snap-1", nil))
			checkSuccess(t, w, 200, "application/json")
			if got := w.Body.String(); got != tc.want {
				t.Errorf("body =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
