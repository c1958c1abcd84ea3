package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// fakeService is a func-field fake of api.Service that records every input
// it receives. A nil func gives a plausible default answer.
type fakeService struct {
	start    func(context.Context, snapshot.StartInput) (*snapshot.SnapshotOutput, error)
	put      func(context.Context, snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error)
	complete func(context.Context, snapshot.CompleteInput) (*snapshot.CompleteOutput, error)
	get      func(context.Context, snapshot.GetBlockInput) (*snapshot.GetBlockOutput, error)
	list     func(context.Context, snapshot.ListBlocksInput) (*snapshot.ListBlocksOutput, error)
	changed  func(context.Context, snapshot.ListChangedInput) (*snapshot.ListChangedOutput, error)

	discard bool // record nothing (fuzzing would pile up inputs)

	mu     sync.Mutex
	inputs []any

	releases atomic.Int64 // GetBlockOutput.Release calls
}

var _ api.Service = (*fakeService)(nil)

func (f *fakeService) record(in any) {
	if f.discard {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
}

// lastInput returns the most recent input of type T.
func lastInput[T any](tb testing.TB, f *fakeService) T {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.inputs) - 1; i >= 0; i-- {
		if in, ok := f.inputs[i].(T); ok {
			return in
		}
	}
	var zero T
	tb.Fatalf("service never received a %T", zero)
	return zero
}

func (f *fakeService) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.inputs)
}

// errAll makes every operation of f fail with err.
func (f *fakeService) errAll(err error) {
	f.start = func(context.Context, snapshot.StartInput) (*snapshot.SnapshotOutput, error) { return nil, err }
	f.put = func(context.Context, snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error) { return nil, err }
	f.complete = func(context.Context, snapshot.CompleteInput) (*snapshot.CompleteOutput, error) { return nil, err }
	f.get = func(context.Context, snapshot.GetBlockInput) (*snapshot.GetBlockOutput, error) { return nil, err }
	f.list = func(context.Context, snapshot.ListBlocksInput) (*snapshot.ListBlocksOutput, error) { return nil, err }
	f.changed = func(context.Context, snapshot.ListChangedInput) (*snapshot.ListChangedOutput, error) { return nil, err }
}

var testTime = time.UnixMilli(1790337440328)

func (f *fakeService) StartSnapshot(ctx context.Context, in snapshot.StartInput) (*snapshot.SnapshotOutput, error) {
	f.record(in)
	if f.start != nil {
		return f.start(ctx, in)
	}
	return &snapshot.SnapshotOutput{
		SnapshotID: "snap-0e3be26c9ccc164eb",
		OwnerID:    in.AccountID,
		Status:     ebs.StatusPending,
		StartTime:  testTime,
		VolumeSize: 1,
		BlockSize:  ebs.BlockSize,
	}, nil
}

// PutSnapshotBlock drains the body and answers with its SHA-256.
func (f *fakeService) PutSnapshotBlock(ctx context.Context, in snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error) {
	if f.put != nil {
		f.record(in)
		return f.put(ctx, in)
	}
	h := sha256.New()
	if _, err := io.Copy(h, in.Body); err != nil {
		f.record(in)
		return nil, err
	}
	in.Body = nil // consumed; keep no reference to the request
	f.record(in)
	return &snapshot.PutBlockOutput{
		Checksum:          base64.StdEncoding.EncodeToString(h.Sum(nil)),
		ChecksumAlgorithm: "SHA256",
	}, nil
}

func (f *fakeService) CompleteSnapshot(ctx context.Context, in snapshot.CompleteInput) (*snapshot.CompleteOutput, error) {
	f.record(in)
	if f.complete != nil {
		return f.complete(ctx, in)
	}
	return &snapshot.CompleteOutput{Status: ebs.StatusPending}, nil
}

func (f *fakeService) GetSnapshotBlock(ctx context.Context, in snapshot.GetBlockInput) (*snapshot.GetBlockOutput, error) {
	f.record(in)
	if f.get != nil {
		return f.get(ctx, in)
	}
	data := make([]byte, ebs.BlockSize)
	return &snapshot.GetBlockOutput{
		Data:              data,
		Checksum:          ebs.Sum(data).String(),
		ChecksumAlgorithm: "SHA256",
		Release:           func() { f.releases.Add(1) },
	}, nil
}

func (f *fakeService) ListSnapshotBlocks(ctx context.Context, in snapshot.ListBlocksInput) (*snapshot.ListBlocksOutput, error) {
	f.record(in)
	if f.list != nil {
		return f.list(ctx, in)
	}
	return &snapshot.ListBlocksOutput{ExpiryTime: testTime, VolumeSize: 1, BlockSize: ebs.BlockSize}, nil
}

func (f *fakeService) ListChangedBlocks(ctx context.Context, in snapshot.ListChangedInput) (*snapshot.ListChangedOutput, error) {
	f.record(in)
	if f.changed != nil {
		return f.changed(ctx, in)
	}
	return &snapshot.ListChangedOutput{ExpiryTime: testTime, VolumeSize: 1, BlockSize: ebs.BlockSize}, nil
}

// testAccount is the account every test caller authenticates as.
const testAccount = "123456789012"

// acceptAll authenticates every request as testAccount, making no claim
// about the payload: the handler falls back to X-Amz-Content-Sha256.
type acceptAll struct{}

func (acceptAll) Authenticate(*http.Request) (api.Caller, error) {
	return api.Caller{AccountID: testAccount}, nil
}

// authFunc adapts a function to api.Authenticator.
type authFunc func(*http.Request) (api.Caller, error)

func (f authFunc) Authenticate(r *http.Request) (api.Caller, error) { return f(r) }

// newHandler returns a handler over svc that accepts every request.
func newHandler(tb testing.TB, svc api.Service, opts ...func(*api.Options)) *api.Handler {
	tb.Helper()
	o := api.Options{Service: svc, Auth: acceptAll{}}
	for _, f := range opts {
		f(&o)
	}
	h, err := api.New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return h
}

// serve runs one request through h and returns the recorded response.
func serve(tb testing.TB, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	tb.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var errBoom = errors.New("boom: disk on fire")
