package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/throttle"
)

// answerService answers PutSnapshotBlock without reading the block, so
// that a benchmark sees the wire layer's own costs, not a 512 KiB copy.
type answerService struct {
	fakeService
	out snapshot.PutBlockOutput
}

func (a *answerService) PutSnapshotBlock(context.Context, snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error) {
	return &a.out, nil
}

// BenchmarkThrottleHook measures what the throttle adds to a
// PutSnapshotBlock in the wire layer: "Off" has no limiter, "Admitted"
// has both of Put's quotas set so high that every request passes (two
// bucket lookups and compare-and-swaps), "Refused" answers every request
// with RequestThrottledException without reading the body.
func BenchmarkThrottleHook(b *testing.B) {
	high := throttle.Limit{Rate: throttle.MaxRate, Burst: throttle.MaxBurst}
	none := throttle.Limit{Rate: throttle.MinRate, Burst: 1}
	for _, bc := range []struct {
		name       string
		limit      *throttle.Limit
		wantStatus int
	}{
		{"Off", nil, http.StatusCreated},
		{"Admitted", &high, http.StatusCreated},
		{"Refused", &none, http.StatusBadRequest},
	} {
		b.Run(bc.name, func(b *testing.B) {
			block := bytes.Repeat([]byte{1}, ebs.BlockSize)
			svc := &answerService{out: snapshot.PutBlockOutput{Checksum: ebs.Sum(block).String(), ChecksumAlgorithm: "SHA256"}}
			var lim *throttle.Limiter
			if bc.limit != nil {
				var q throttle.Quotas
				for _, s := range []throttle.Scope{throttle.Account, throttle.Snapshot} {
					if err := q.Set(throttle.PutSnapshotBlock, s, *bc.limit); err != nil {
						b.Fatal(err)
					}
				}
				lim = throttle.New(q, nil)
				lim.Allow(throttle.PutSnapshotBlock, testAccount, "snap-0e3be26c9ccc164eb") // "Refused" refuses from the start
			}
			h := newHandler(b, svc, func(o *api.Options) {
				o.Registerer = prometheus.NewRegistry()
				o.Throttle = lim
			})
			r := httptest.NewRequest("PUT", "/snapshots/snap-0e3be26c9ccc164eb/blocks/1000", nil)
			r.Header.Set("X-Amz-Data-Length", "524288")
			r.Header.Set("X-Amz-Checksum", svc.out.Checksum)
			r.Header.Set("X-Amz-Checksum-Algorithm", "SHA256")
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			r.ContentLength = ebs.BlockSize
			body := bytes.NewReader(block)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(block)
				r.Body = io.NopCloser(body)
				clear(w.h)
				w.status = 0
				h.ServeHTTP(w, r)
				if w.status != bc.wantStatus {
					b.Fatalf("status %d, want %d", w.status, bc.wantStatus)
				}
			}
		})
	}
}
