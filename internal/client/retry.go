package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
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
	return c.callGated(ctx, nil, what, retryNotFound, fn)
}

// callGated is call with every attempt holding a slot of g (nil: none),
// and telling g how it went, so that the transfer's concurrency follows
// the service's throttling (see gate). Slots are released during the
// backoff delays. Time spent waiting for a slot does not count against
// the policy's TotalTimeout: at a concurrency of 1 with 64 workers a
// call may queue for minutes behind the transfer's own other requests,
// and that is not the service failing.
func (c *Client) callGated(ctx context.Context, g *gate, what string, retryNotFound bool, fn func(ctx context.Context) error) error {
	p := c.opts.Retry
	var deadline time.Time
	if p.TotalTimeout > 0 {
		deadline = time.Now().Add(p.TotalTimeout)
	}
	gaveUp := func(attempt int, err error) error {
		return fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, err)
	}
	for attempt := 1; ; attempt++ {
		s, waited, err := g.acquire(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if !deadline.IsZero() {
			deadline = deadline.Add(waited)
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			actx, cancel = context.WithDeadline(ctx, deadline)
		}
		err = c.attempt(actx, p.AttemptTimeout, fn)
		expired := err != nil && actx.Err() != nil && ctx.Err() == nil
		cancel()
		g.release(s, err)
		if err == nil {
			return nil
		}
		if expired || ctx.Err() != nil {
			return gaveUp(attempt, err)
		}
		if !Retryable(err) && !(retryNotFound && IsNotFound(err)) {
			return err
		}
		if attempt >= p.MaxAttempts || (attempt >= refusedAttempts && errors.Is(err, syscall.ECONNREFUSED)) {
			return gaveUp(attempt, err)
		}
		delay := backoff(p, attempt)
		c.opts.Observer.Retry(what, attempt, delay, err)
		c.log.Info("retrying", "call", what, "attempt", attempt, "of", p.MaxAttempts, "delay", delay, "err", err)
		wait := delay
		if !deadline.IsZero() {
			wait = min(wait, time.Until(deadline))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return gaveUp(attempt, err)
		case <-timer.C:
		}
		if wait < delay {
			return gaveUp(attempt, err) // the deadline came first
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

// throttleCodes are the error codes the AWS SDKs treat as throttling:
// the service asks for fewer requests, and a transfer lowers its
// concurrency (see gate).
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "SlowDown": true, "RequestThrottled": true,
	"BandwidthLimitExceeded": true, "LimitExceededException": true,
	"ProvisionedThroughputExceededException": true, "EC2ThrottledException": true,
}

// transientCodes are the other error codes the AWS SDKs retry: timeouts.
var transientCodes = map[string]bool{
	"RequestTimeout": true, "RequestTimeoutException": true, "PriorRequestNotComplete": true,
}

// IsThrottle reports whether err is the service throttling: one of
// throttleCodes, or HTTP 429 or 503 (S3's SlowDown, and what a proxy or
// load balancer answers when overloaded).
func IsThrottle(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && throttleCodes[ae.ErrorCode()] {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && (re.HTTPStatusCode() == 429 || re.HTTPStatusCode() == 503)
}

// Retryable reports whether err is worth another attempt: throttling,
// server faults (5xx), connection failures, attempt timeouts, and AWS's
// "Failed to read block data", which the EBS docs call retryable. Client
// errors such as AccessDenied or a bad checksum are not, and neither are
// connection failures that the same request can never get past (see
// Hopeless).
func Retryable(err error) bool {
	if Hopeless(err) {
		return false
	}
	if IsThrottle(err) {
		return true
	}
	var at *attemptTimeout
	if errors.As(err, &at) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if transientCodes[ae.ErrorCode()] {
			return true
		}
		if ae.ErrorCode() == "ValidationException" && strings.Contains(ae.ErrorMessage(), "Failed to read block data") {
			return true
		}
	}
	// The SDK wraps transport failures in a ResponseError too, with no
	// response (status 0): only a real status decides here; anything else
	// falls through to the connection checks. A 4xx whose body could not
	// be read (a TLS server answering plain HTTP sends 400 and resets the
	// connection) is still the server's verdict on the request, which a
	// retry sends again unchanged; 408 is the exception.
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch code := re.HTTPStatusCode(); {
		case code >= 500, code == http.StatusRequestTimeout:
			return true
		case code >= 400:
			return false
		}
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

// Hopeless reports whether err is a failure to connect that no retry can
// cure, so that the user hears of it at once instead of after minutes of
// backoff: the server's certificate is not trusted or not for this host
// (issue 16: ten attempts over 46 s), the endpoint does not speak TLS
// (https:// to a plain-HTTP server), or its host name does not exist.
func Hopeless(err error) bool {
	var (
		verify *tls.CertificateVerificationError
		record tls.RecordHeaderError
		dns    *net.DNSError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, new(x509.UnknownAuthorityError)),
		errors.As(err, new(x509.HostnameError)), errors.As(err, new(x509.CertificateInvalidError)):
		return true
	case errors.As(err, &record),
		// net/http turns the RecordHeaderError of a plain-HTTP answer
		// into an untyped error.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return true
	case errors.As(err, &dns):
		return dns.IsNotFound
	}
	return false
}

// IsNotFound reports whether err is a ResourceNotFoundException.
func IsNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}
