package client_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ebsd/ebsd/internal/client"
)

// faultyAPI wraps a client.API: it counts calls, records the blocks each
// successful put wrote, and lets a test inject errors. A fault func gets
// the 1-based number of the call (of that operation) and its input; a
// non-nil error it returns is answered instead of calling the service.
type faultyAPI struct {
	client.API

	PutFault func(call int64, in *ebs.PutSnapshotBlockInput) error
	GetFault func(call int64, in *ebs.GetSnapshotBlockInput) error
	// AfterPut runs after each successful put with the count of
	// successful puts so far (e.g. to cancel an upload midway).
	AfterPut func(ok int64)

	putCalls, putOK, getCalls atomic.Int64
	mu                        sync.Mutex
	putIndexes                []int32
	putAttempts               map[int32]int
}

func (f *faultyAPI) PutSnapshotBlock(ctx context.Context, in *ebs.PutSnapshotBlockInput, optFns ...func(*ebs.Options)) (*ebs.PutSnapshotBlockOutput, error) {
	n := f.putCalls.Add(1)
	f.mu.Lock()
	if f.putAttempts == nil {
		f.putAttempts = map[int32]int{}
	}
	f.putAttempts[aws.ToInt32(in.BlockIndex)]++
	f.mu.Unlock()
	if f.PutFault != nil {
		if err := f.PutFault(n, in); err != nil {
			return nil, err
		}
	}
	out, err := f.API.PutSnapshotBlock(ctx, in, optFns...)
	if err != nil {
		return out, err
	}
	f.mu.Lock()
	f.putIndexes = append(f.putIndexes, aws.ToInt32(in.BlockIndex))
	f.mu.Unlock()
	ok := f.putOK.Add(1)
	if f.AfterPut != nil {
		f.AfterPut(ok)
	}
	return out, nil
}

func (f *faultyAPI) GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, optFns ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error) {
	n := f.getCalls.Add(1)
	if f.GetFault != nil {
		if err := f.GetFault(n, in); err != nil {
			return nil, err
		}
	}
	return f.API.GetSnapshotBlock(ctx, in, optFns...)
}

// written returns the indexes of the successful puts, in call order.
func (f *faultyAPI) written() []int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int32(nil), f.putIndexes...)
}

// attempts returns how many puts of block i were tried.
func (f *faultyAPI) attempts(i int32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.putAttempts[i]
}

// The errors the service and the network produce, shaped as the SDK
// returns them: an operation error around a response error around the
// modelled exception.

func opError(op string, status int, err error) error {
	return &smithy.OperationError{ServiceID: "EBS", OperationName: op, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
		RequestID:     "test",
	}}
}

func errThrottled() error {
	return opError("PutSnapshotBlock", 400, &types.RequestThrottledException{Message: aws.String("Rate exceeded"), Reason: types.RequestThrottledExceptionReasonAccountThrottled})
}

func errInternal() error {
	return opError("PutSnapshotBlock", 500, &types.InternalServerException{Message: aws.String("We encountered an internal error.")})
}

func errFailedToRead() error {
	return opError("PutSnapshotBlock", 400, &types.ValidationException{Message: aws.String("Failed to read block data"), Reason: types.ValidationExceptionReasonInvalidParameterValue})
}

func errAccessDenied() error {
	return opError("PutSnapshotBlock", 403, &types.AccessDeniedException{Message: aws.String("User is not authorized"), Reason: types.AccessDeniedExceptionReasonUnauthorizedAccount})
}

func errConnReset() error {
	return &smithy.OperationError{ServiceID: "EBS", OperationName: "PutSnapshotBlock",
		Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}}}
}

func errUnexpectedEOF() error {
	return &smithy.OperationError{ServiceID: "EBS", OperationName: "PutSnapshotBlock",
		Err: &smithyhttp.RequestSendError{Err: fmt.Errorf("read response: %w", io.ErrUnexpectedEOF)}}
}

// dropTransport is an http.RoundTripper that breaks chosen requests for
// real, below the SDK: Drop gets the 1-based number of each request whose
// method is Method and says what to do with it.
type dropTransport struct {
	Base   http.RoundTripper
	Method string
	Drop   func(n int64) dropMode
	n      atomic.Int64
	drops  atomic.Int64
}

type dropMode int

const (
	pass          dropMode = iota
	dropRequest            // the connection breaks while the body is sent: nothing reaches the server
	dropResponse           // the request is served, then the response is lost
	stallResponse          // the request is served, and no answer comes until the attempt times out
)

func (d *dropTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	mode := pass
	if req.Method == d.Method && d.Drop != nil {
		mode = d.Drop(d.n.Add(1))
	}
	switch mode {
	case dropRequest:
		d.drops.Add(1)
		if req.Body != nil {
			io.CopyN(io.Discard, req.Body, 1000)
			req.Body.Close()
		}
		return nil, &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	case dropResponse:
		d.drops.Add(1)
		resp, err := d.Base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return nil, fmt.Errorf("read response: %w", io.ErrUnexpectedEOF)
	case stallResponse:
		d.drops.Add(1)
		resp, err := d.Base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return d.Base.RoundTrip(req)
}

// countingObserver tallies what a transfer reports.
type countingObserver struct {
	mu       sync.Mutex
	phases   []string
	outcomes map[client.Outcome]int64
	bytes    int64
	retries  int64
	retryErr []error
}

func (o *countingObserver) Begin(phase string, _, _ int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.phases = append(o.phases, phase)
}

func (o *countingObserver) Block(out client.Outcome, bytes int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.outcomes == nil {
		o.outcomes = map[client.Outcome]int64{}
	}
	o.outcomes[out]++
	o.bytes += bytes
}

func (o *countingObserver) Retry(_ string, _ int, _ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries++
	o.retryErr = append(o.retryErr, err)
}

func (o *countingObserver) End() {}

func (o *countingObserver) retryCount() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.retries
}
