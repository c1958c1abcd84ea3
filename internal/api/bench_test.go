package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/prometheus/client_golang/prometheus"
)

// drainService is the cheapest possible PutSnapshotBlock: it reads the body
// into one reused buffer, as the real service reads into a pooled one, so
// that the benchmark measures the wire layer alone.
type drainService struct {
	fakeService
	buf []byte
	out snapshot.PutBlockOutput
}

func (d *drainService) PutSnapshotBlock(_ context.Context, in snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error) {
	if _, err := io.ReadFull(in.Body, d.buf); err != nil {
		return nil, err
	}
	return &d.out, nil
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkPutSnapshotBlock measures the wire layer's cost per block:
// routing, authentication, header parsing, the service call and the 201.
func BenchmarkPutSnapshotBlock(b *testing.B) {
	block := bytes.Repeat([]byte{1}, ebs.BlockSize)
	svc := &drainService{buf: make([]byte, ebs.BlockSize), out: snapshot.PutBlockOutput{Checksum: ebs.Sum(block).String(), ChecksumAlgorithm: "SHA256"}}
	h := newHandler(b, svc, func(o *api.Options) { o.Registerer = prometheus.NewRegistry() })

	r := httptest.NewRequest("PUT", "/snapshots/snap-0e3be26c9ccc164eb/blocks/1000", nil)
	r.Header.Set("X-Amz-Data-Length", "524288")
	r.Header.Set("X-Amz-Checksum", svc.out.Checksum)
	r.Header.Set("X-Amz-Checksum-Algorithm", "SHA256")
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	r.Header.Set("Content-Type", "application/octet-stream")
	r.ContentLength = ebs.BlockSize
	body := bytes.NewReader(block)
	w := &discardWriter{h: http.Header{}}

	b.SetBytes(ebs.BlockSize)
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(block)
		r.Body = io.NopCloser(body)
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusCreated {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkPutSnapshotBlockHTTP is the same over a loopback connection with
// net/http on both ends, for scale: the wire layer's share of a real put.
func BenchmarkPutSnapshotBlockHTTP(b *testing.B) {
	if testing.Short() {
		b.Skip("loopback benchmark")
	}
	block := bytes.Repeat([]byte{1}, ebs.BlockSize)
	svc := &drainService{buf: make([]byte, ebs.BlockSize), out: snapshot.PutBlockOutput{Checksum: ebs.Sum(block).String(), ChecksumAlgorithm: "SHA256"}}
	srv := httptest.NewServer(newHandler(b, svc))
	defer srv.Close()
	client := srv.Client()
	url := srv.URL + "/snapshots/snap-0e3be26c9ccc164eb/blocks/1000"

	b.SetBytes(ebs.BlockSize)
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequest("PUT", url, bytes.NewReader(block))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("X-Amz-Data-Length", "524288")
		req.Header.Set("X-Amz-Checksum", svc.out.Checksum)
		req.Header.Set("X-Amz-Checksum-Algorithm", "SHA256")
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
