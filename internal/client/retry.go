package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// RetryPolicy bounds how a call is retried. Each attempt gets its own
// timeout, so that a connection that was accepted but never answered (the
// hang coldsnap users hit outside EC2) costs one attempt, not the upload.
type RetryPolicy struct {
	MaxAttempts    int           // attempts in all, the first included
	BaseDelay      time.Duration // delay before the second attempt
	MaxDelay       time.Duration // cap of one delay
	AttemptTimeout time.Duration // bound of one attempt
	TotalTimeout   time.Duration // bound of all attempts of one call, delays included
}

// DefaultRetryPolicy retries for up to about two minutes, long enough to
// ride out throttling and the "snapshot does not exist" lag AWS shows right
// after StartSnapshot (coldsnap #43).
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:    10,
	BaseDelay:      200 * time.Millisecond,
	MaxDelay:       20 * time.Second,
	AttemptTimeout: 60 * time.Second,
	TotalTimeout:   3 * time.Minute,
}

// refusedAttempts bounds the attempts at an endpoint that refuses
// connections: nothing listens there, which a restart may explain for a
// moment but which usually means a wrong --endpoint-url, so the user hears
// of it in about a second rather than after minutes of backoff.
const refusedAttempts = 4

// call runs fn until it succeeds, fails for good, or the policy is spent.
// what names the call in logs ("PutSnapshotBlock snap-0... block 7").
// retryNotFound also retries ResourceNotFoundException, for calls on a
// snapshot the service may not show yet.
func (c *Client) call(ctx context.Context, what string, retryNotFound bool, fn func(ctx context.Context) error) error {
	p := c.opts.Retry
	if p.TotalTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.TotalTimeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, p.AttemptTimeout, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, err)
		}
		if !Retryable(err) && !(retryNotFound && IsNotFound(err)) {
			return err
		}
		if attempt >= p.MaxAttempts || (attempt >= refusedAttempts && errors.Is(err, syscall.ECONNREFUSED)) {
			return fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, err)
		}
		delay := backoff(p, attempt)
		c.opts.Observer.Retry(what, attempt, delay, err)
		c.log.Info("retrying", "call", what, "attempt", attempt, "of", p.MaxAttempts, "delay", delay, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, err)
		case <-time.After(delay):
		}
	}
}

// attempt runs fn once under the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	if timeout <= 0 {
		return fn(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := fn(actx)
	if err != nil && actx.Err() != nil && ctx.Err() == nil {
		// Only this attempt ran out of time: that is retryable.
		return &attemptTimeout{after: timeout, err: err}
	}
	return err
}

type attemptTimeout struct {
	after time.Duration
	err   error
}

func (e *attemptTimeout) Error() string {
	return fmt.Sprintf("attempt timed out after %v: %v", e.after, e.err)
}
func (e *attemptTimeout) Unwrap() error { return e.err }

// backoff is exponential with full jitter: uniformly random in
// [0, min(MaxDelay, BaseDelay * 2^(attempt-1))], so that many workers
// throttled at once do not retry in lockstep.
func backoff(p RetryPolicy, attempt int) time.Duration {
	d := p.BaseDelay << min(attempt-1, 30)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// throttleCodes are the error codes the AWS SDKs treat as throttling.
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "SlowDown": true, "RequestThrottled": true,
	"BandwidthLimitExceeded": true, "LimitExceededException": true,
	"RequestTimeout": true, "RequestTimeoutException": true, "PriorRequestNotComplete": true,
}

// Retryable reports whether err is worth another attempt: throttling,
// server faults (5xx), connection failures, attempt timeouts, and AWS's
// "Failed to read block data", which the EBS docs call retryable. Client
// errors such as AccessDenied or a bad checksum are not.
func Retryable(err error) bool {
	var at *attemptTimeout
	if errors.As(err, &at) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if throttleCodes[ae.ErrorCode()] {
			return true
		}
		if ae.ErrorCode() == "ValidationException" && strings.Contains(ae.ErrorMessage(), "Failed to read block data") {
			return true
		}
	}
	// The SDK wraps transport failures in a ResponseError too, with no
	// response (status 0): only a real 5xx decides here; anything else
	// falls through to the connection checks.
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// IsNotFound reports whether err is a ResourceNotFoundException.
func IsNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}
