package ec2api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/inflight"
	"github.com/ebsd/ebsd/internal/reqmetrics"
	"github.com/ebsd/ebsd/internal/sigv4"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/throttle"
)

// Service is what the wire layer needs of the snapshot service.
type Service interface {
	DescribeSnapshots(ctx context.Context, in snapshot.DescribeInput) (*snapshot.DescribeOutput, error)
	DeleteSnapshot(ctx context.Context, in snapshot.DeleteInput) error
	CopySnapshot(ctx context.Context, in snapshot.CopyInput) (*snapshot.CopyOutput, error)
	CreateTags(ctx context.Context, in snapshot.TagsInput) error
	DeleteTags(ctx context.Context, in snapshot.UntagInput) error
	DescribeTags(ctx context.Context, in snapshot.DescribeTagsInput) (*snapshot.DescribeTagsOutput, error)
}

// Defaults of the zero Options fields.
const (
	// DefaultMaxBody bounds a request body, read whole before the
	// signature is checked: the largest a real client sends is a
	// CreateTags of 1000 resources and 50 tags, a few tens of KiB.
	DefaultMaxBody = 1 << 20
	// DefaultBodyTimeout bounds reading one body, like the EBS API's
	// stall limit (api.DefaultStall).
	DefaultBodyTimeout = 30 * time.Second
	// DefaultMaxInFlight bounds the requests served at once, so that at
	// most 64 MiB of bodies are held; beyond it a request gets a 503,
	// which every SDK retries.
	DefaultMaxInFlight = 64
	// DefaultRegion is ebsd's default region (config -region).
	DefaultRegion = "us-east-1"
)

// Options configure a Handler.
type Options struct {
	Service Service         // required
	Keys    sigv4.KeyLookup // the credentials; required
	// Region is the region the server serves: DescribeRegions lists it
	// and CopySnapshot copies within it. "" means DefaultRegion.
	Region string
	Logger *slog.Logger // nil discards logs
	// AccessLogLevel is the level of the one line logged per request;
	// the zero value is Info.
	AccessLogLevel slog.Level
	Registerer     prometheus.Registerer // nil registers no metrics
	// Throttle enforces the EC2 request-rate quotas; nil enforces none.
	Throttle    *throttle.Limiter
	MaxBody     int64         // 0 = DefaultMaxBody
	BodyTimeout time.Duration // 0 = DefaultBodyTimeout
	MaxInFlight int           // 0 = DefaultMaxInFlight
}

// Handler serves the EC2 Query API actions for snapshots and STS
// GetCallerIdentity at POST /. It is safe for concurrent use.
type Handler struct {
	svc         Service
	region      string
	log         *slog.Logger
	accessLevel slog.Level
	throttle    *throttle.Limiter
	metrics     *reqmetrics.Ops
	busy        *inflight.Bound
	maxBody     int64
	bodyTimeout time.Duration
	// One verifier per SigV4 service: each checks that the credential
	// scope names its own.
	verifiers [2]*sigv4.Verifier
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for opts.
func New(opts Options) (*Handler, error) {
	switch {
	case opts.Service == nil:
		return nil, errors.New("ec2api: Options.Service is nil")
	case opts.Keys == nil:
		return nil, errors.New("ec2api: Options.Keys is nil")
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	h := &Handler{
		svc:         opts.Service,
		region:      opts.Region,
		log:         opts.Logger,
		accessLevel: opts.AccessLogLevel,
		throttle:    opts.Throttle,
		busy:        inflight.New(opts.MaxInFlight, DefaultMaxInFlight),
		maxBody:     opts.MaxBody,
		bodyTimeout: opts.BodyTimeout,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.bodyTimeout <= 0 {
		h.bodyTimeout = DefaultBodyTimeout
	}
	for _, a := range []apiName{apiEC2, apiSTS} {
		h.verifiers[a] = &sigv4.Verifier{Service: a.String(), Keys: opts.Keys, MaxBody: h.maxBody}
	}
	m, err := newMetrics(opts.Registerer, h.busy)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	return h, nil
}

// ServeHTTP serves one request to POST /.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{Writer: reqmetrics.Writer{ResponseWriter: w}, id: uuid.NewString(), remote: r.RemoteAddr}
	x.Header().Set("X-Amzn-Requestid", x.id)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				h.finish(r.Context(), x, time.Since(start))
				panic(v)
			}
			h.writeError(r.Context(), x, fmt.Errorf("panic serving %s: %v\n%s", x.op, v, debug.Stack()))
		}
		h.finish(r.Context(), x, time.Since(start))
	}()
	if !h.busy.Acquire() {
		x.Header().Set("Connection", "close")
		x.api = apiFromScope(r)
		h.writeError(r.Context(), x, wireErr(fUnavailable, "The server is serving as many requests as it allows; retry later."))
		return
	}
	defer h.busy.Release()
	h.serve(x, r)
}

// serve reads, authenticates, routes and answers a request.
func (h *Handler) serve(x *exchange, r *http.Request) {
	ctx := r.Context()
	body, err := h.readBody(x, r)
	x.received = int64(len(body))
	if err != nil {
		x.api = apiFromScope(r)
		h.writeError(ctx, x, err)
		return
	}
	// The form is parsed before the signature is checked only to learn
	// which API the request speaks; its errors are answered after.
	f, formErr := parseForm(body)
	version := ""
	if f != nil {
		version, _ = f.root.str("Version")
	}
	x.api = pickAPI(version, r)

	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	id, err := h.verifiers[x.api].Verify(r)
	if err == nil {
		err = checkPayloadHash(id.PayloadHash, body)
	}
	if err != nil {
		x.noteAuthFailure(r, err)
		h.writeError(ctx, x, err)
		return
	}
	x.account = id.AccountID
	if formErr != nil {
		h.writeError(ctx, x, formErr)
		return
	}

	op, err := route(f, x.api, version)
	if err != nil {
		h.writeError(ctx, x, err)
		return
	}
	x.op = op
	a := &actions[op]
	if err := f.checkKeys(append([]string{"Action", "Version"}, a.keys...)); err != nil {
		h.writeError(ctx, x, err)
		return
	}
	if err := h.admit(a, id.AccountID); err != nil {
		h.writeError(ctx, x, err)
		return
	}
	c := &call{ctx: ctx, form: &f.root, account: id.AccountID, id: x.id, host: r.Host}
	if c.dryRun, err = boolParam(c.form, "DryRun"); err != nil {
		h.writeError(ctx, x, err)
		return
	}
	doc, err := a.serve(h, c)
	if err != nil {
		h.writeError(ctx, x, err)
		return
	}
	x.Header().Set("Content-Type", contentType)
	x.WriteHeader(http.StatusOK)
	_, _ = x.Write(doc)
}

// readBody reads the whole body, at most h.maxBody bytes and within
// h.bodyTimeout. The read deadline is set only when there is a body to
// read: once a body is consumed net/http lifts the deadline itself and
// watches the connection, and a deadline set after that would cancel the
// request's context (see api/transfer.go).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		w.Header().Set("Connection", "close")
		return nil, errTooLarge(h.maxBody)
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, nil
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(h.bodyTimeout)) // ErrNotSupported from a test recorder: no bound, no harm
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil {
		w.Header().Set("Connection", "close")
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return body, wireErr(fRequestTimeout, "The request body did not arrive within %v.", h.bodyTimeout)
		}
		return body, wireErr(fInvalidParameterValue, "Failed to read the request body.")
	}
	if int64(len(body)) > h.maxBody {
		w.Header().Set("Connection", "close")
		return body, errTooLarge(h.maxBody)
	}
	return body, nil
}

func errTooLarge(max int64) error {
	return wireErr(fRequestTooLarge, "The request body is larger than %d bytes.", max)
}

// pickAPI decides which API a request speaks, before it is authenticated:
// by its Version when that is one of the two, else by the service of its
// credential scope, else EC2. The verifier of that API then refuses a
// scope that names the other service, so a request is served only when
// Version and scope agree (docs/ec2-api.md §2.4).
func pickAPI(version string, r *http.Request) apiName {
	switch version {
	case versionEC2:
		return apiEC2
	case versionSTS:
		return apiSTS
	}
	return apiFromScope(r)
}

// apiFromScope returns STS when the Authorization header's credential
// scope names sts, else EC2.
func apiFromScope(r *http.Request) apiName {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return apiEC2
	}
	cred, _, _ = strings.Cut(cred, ",")
	if strings.HasSuffix(strings.TrimSpace(cred), "/"+serviceSTS+"/aws4_request") {
		return apiSTS
	}
	return apiEC2
}

// checkPayloadHash refuses a body other than the one signed. Without an
// X-Amz-Content-Sha256 header the verifier hashed the body itself; with
// one (the JS SDK sends it) it signed the header's value, which must then
// be the body's hash: UNSIGNED-PAYLOAD would leave the form unsigned.
func checkPayloadHash(signed string, body []byte) error {
	if signed == sigv4.UnsignedPayload {
		return &ebs.Error{Kind: ebs.KindIncompleteSignature,
			Message: "The request body must be signed: x-amz-content-sha256 must be the SHA-256 of the body, not " + sigv4.UnsignedPayload + ".",
			Err:     &sigv4.Failure{Cause: sigv4.CauseMalformed}}
	}
	sum := sha256.Sum256(body)
	if signed != hex.EncodeToString(sum[:]) {
		return &ebs.Error{Kind: ebs.KindBadSignature,
			Message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
			Err:     &sigv4.Failure{Cause: sigv4.CauseMismatch, Err: errors.New("x-amz-content-sha256 is not the hash of the body")}}
	}
	return nil
}

// route returns the operation of an authenticated request.
func route(f *form, a apiName, version string) (operation, error) {
	name, ok := f.root.str("Action")
	if !ok || name == "" {
		return opUnknown, wireErr(fMissingAction, "The request must contain the parameter Action")
	}
	switch {
	case version == "":
		return opUnknown, wireErr(fMissingParameter, "The request must contain the parameter Version")
	case version != versionEC2 && version != versionSTS:
		return opUnknown, wireErr(fNoSuchVersion, "The requested version (%s) of service %s does not exist; this endpoint serves EC2 %s and STS %s.",
			echo(version), a, versionEC2, versionSTS)
	}
	op, ok := lookupAction(a, name)
	if !ok {
		return opUnknown, wireErr(fInvalidAction, "The action %s is not valid for this web service.", echo(name))
	}
	return op, nil
}

// admit refuses a request beyond its action's quota with
// RequestLimitExceeded, which every SDK retries.
func (h *Handler) admit(a *action, account string) error {
	if h.throttle == nil || !a.throttled {
		return nil
	}
	if _, ok := h.throttle.Allow(a.quota, account, ""); ok {
		return nil
	}
	return wireErr(fRequestLimitExceeded, msgThrottled)
}

// writeError writes err as the error document of x's API, and is the
// only writer of errors. An internal error's cause is logged, never sent.
func (h *Handler) writeError(ctx context.Context, x *exchange, err error) {
	f, msg := classify(err, x.api)
	code, status := f.row(x.api)
	if msg == "" {
		msg = code
	}
	x.outcome = code
	if f == fInternal {
		h.log.LogAttrs(ctx, slog.LevelError, "request failed",
			slog.String("request_id", x.id), slog.String("operation", x.op.String()), slog.Any("error", err))
	}
	if x.Status != 0 {
		return // a panic after the answer started: nothing more can be sent
	}
	var doc []byte
	if x.api == apiSTS {
		doc = stsError(code, msg, x.id, status)
	} else {
		doc = ec2Error(code, msg, x.id)
	}
	x.Header().Set("Content-Type", contentType)
	x.WriteHeader(status)
	_, _ = x.Write(doc)
}

// finish records the metrics and access log of a served request.
func (h *Handler) finish(ctx context.Context, x *exchange, d time.Duration) {
	if x.Status == 0 {
		x.Status = http.StatusOK
	}
	outcome := x.outcome
	if outcome == "" {
		outcome = outcomeSuccess
	}
	h.metrics.Observe(int(x.op), outcome, d, x.received, x.Sent)
	h.logAccess(ctx, x, outcome, d)
}
