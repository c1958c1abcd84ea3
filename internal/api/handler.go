package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/inflight"
	"github.com/ebsd/ebsd/internal/reqmetrics"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/throttle"
)

// Service is what the wire layer needs of the snapshot service.
type Service interface {
	StartSnapshot(ctx context.Context, in snapshot.StartInput) (*snapshot.SnapshotOutput, error)
	PutSnapshotBlock(ctx context.Context, in snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error)
	CompleteSnapshot(ctx context.Context, in snapshot.CompleteInput) (*snapshot.CompleteOutput, error)
	GetSnapshotBlock(ctx context.Context, in snapshot.GetBlockInput) (*snapshot.GetBlockOutput, error)
	ListSnapshotBlocks(ctx context.Context, in snapshot.ListBlocksInput) (*snapshot.ListBlocksOutput, error)
	ListChangedBlocks(ctx context.Context, in snapshot.ListChangedInput) (*snapshot.ListChangedOutput, error)
}

// Caller is an authenticated request's identity.
type Caller struct {
	// AccountID is the caller's account; it becomes the inputs' AccountID.
	AccountID string
	// PayloadHash is the payload hash the request was signed with:
	// "UNSIGNED-PAYLOAD" or 64 hex digits. When it is "" the handler falls
	// back to the X-Amz-Content-Sha256 header, and to no check at all when
	// that is absent too.
	PayloadHash string
}

// Authenticator authenticates a request (SigV4 in production: cmd/ebsd
// adapts internal/sigv4). It may read and replace r.Body for small bodies,
// but must not buffer a PutSnapshotBlock body; its reads are under the
// request's read deadline (TransferLimits). Its error is written like
// any other: an *ebs.Error of KindBadSignature, KindUnknownClient,
// KindMissingAuth, KindIncompleteSignature or KindAccessDenied picks the
// AWS error type.
type Authenticator interface {
	Authenticate(r *http.Request) (Caller, error)
}

// Options configures a Handler.
type Options struct {
	Service    Service       // required
	Auth       Authenticator // required
	Logger     *slog.Logger  // nil discards logs
	Registerer prometheus.Registerer
	// AccessLogLevel is the level of the one line logged per request
	// (access_log.go); the zero value is Info, the default level of ebsd.
	// Debug keeps the lines out of the default log (-access-log=false).
	AccessLogLevel slog.Level
	// Throttle enforces request-rate quotas after authentication; nil
	// enforces none.
	Throttle *throttle.Limiter
	// Now is the clock of the Date header; nil means time.Now. Durations
	// are always measured with the monotonic clock.
	Now func() time.Time
	// Transfer bounds how slowly a request body may arrive and a response
	// leave; zero fields take the defaults (see TransferLimits).
	Transfer TransferLimits
	// MaxInFlight bounds the requests served at once; beyond it a request
	// is answered 503 ServiceUnavailableException without reading its
	// body. 0 means DefaultMaxInFlight.
	MaxInFlight int
}

// Handler serves the EBS direct APIs over HTTP. It is safe for concurrent
// use.
type Handler struct {
	svc     Service
	auth    Authenticator
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	mux     *http.ServeMux
	date    dateCache
	limits  TransferLimits
	busy    *inflight.Bound
	ops     map[string]operation // route pattern -> operation, to name a refused request

	// accessLevel is the level of the access log lines.
	accessLevel slog.Level

	// throttle is nil when no quotas are enforced.
	throttle *throttle.Limiter
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for opts. It fails when a required option is
// missing or the metrics cannot be registered.
func New(opts Options) (*Handler, error) {
	if opts.Service == nil {
		return nil, errors.New("api: Options.Service is nil")
	}
	if opts.Auth == nil {
		return nil, errors.New("api: Options.Auth is nil")
	}
	h := &Handler{
		svc:    opts.Service,
		auth:   opts.Auth,
		log:    opts.Logger,
		now:    opts.Now,
		mux:    http.NewServeMux(),
		limits: opts.Transfer.WithDefaults(),
		busy:   inflight.New(opts.MaxInFlight, DefaultMaxInFlight),
		ops:    make(map[string]operation),

		accessLevel: opts.AccessLogLevel,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.throttle = opts.Throttle
	m, err := newMetrics(opts.Registerer, h.busy)
	if err != nil {
		return nil, err
	}
	h.metrics = m

	// One route per operation (spec §3). The catch-all makes every other
	// method or path an UnknownOperationException instead of the mux's
	// text/plain 404 or 405.
	h.route("POST /snapshots", opStartSnapshot, h.startSnapshot)
	h.route("PUT /snapshots/{snapshotId}/blocks/{blockIndex}", opPutSnapshotBlock, h.putSnapshotBlock)
	h.route("POST /snapshots/completion/{snapshotId}", opCompleteSnapshot, h.completeSnapshot)
	h.route("GET /snapshots/{snapshotId}/blocks/{blockIndex}", opGetSnapshotBlock, h.getSnapshotBlock)
	h.route("GET /snapshots/{snapshotId}/blocks", opListSnapshotBlocks, h.listSnapshotBlocks)
	h.route("GET /snapshots/{secondSnapshotId}/changedblocks", opListChangedBlocks, h.listChangedBlocks)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.unknownOperation(w.(*exchange), r)
	})
	return h, nil
}

// ServeHTTP serves one EBS direct API request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t := newTransfer(w, r, h.limits, start)
	x := &exchange{Writer: reqmetrics.Writer{ResponseWriter: t.writer()}, id: newRequestID(), remote: r.RemoteAddr}
	x.setHeader(hdrRequestID, x.id)
	x.setHeader(hdrDate, h.date.format(h.now()))
	x.body.rc = t.body()
	body := r.Body
	r.Body = &x.body
	// net/http looks at r.Body after the handler to decide how to end an
	// unread body: close at once when too much is left, else drain a
	// little. It knows only its own type; given ours, it would drain 256 KiB
	// of every refused block and then reset the connection.
	defer func() { r.Body = body }()

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // net/http's sentinel: abort the response silently
				h.finish(x, r, time.Since(start))
				panic(v)
			}
			h.writeError(x, r, fmt.Errorf("panic serving %s: %v\n%s", x.op, v, debug.Stack()))
		}
		h.finish(x, r, time.Since(start))
	}()

	if !routable(r) {
		h.unknownOperation(x, r)
		return
	}
	// Before authentication, which may read a body: a refused request
	// costs nothing but its headers.
	if !h.busy.Acquire() {
		h.refuseBusy(x, r)
		return
	}
	defer h.busy.Release()
	h.mux.ServeHTTP(x, r)
}

// refuseBusy answers a request beyond the in-flight bound with a 503
// ServiceUnavailableException, which every SDK retries.
func (h *Handler) refuseBusy(x *exchange, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		x.op = h.ops[pattern]
	}
	// Close the connection: it sheds load, and it spares the answer from
	// waiting for net/http to drain a body first.
	x.Header().Set("Connection", "close")
	h.writeError(x, r, ebs.E("", ebs.KindUnavailable, "", msgBusy))
}

// routable reports whether r may be given to the mux. The mux would answer
// other methods on a GET route (HEAD) and unclean paths (a redirect) itself,
// in text/plain; those are unknown operations for EBS.
func routable(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodPut, http.MethodPost:
	default:
		return false
	}
	p := r.URL.EscapedPath()
	return p != "" && p[0] == '/' && path.Clean(p) == p
}

// route registers the operation op at pattern. Every operation
// authenticates first, before any parsing of its own.
func (h *Handler) route(pattern string, op operation, serve func(*exchange, *http.Request, Caller)) {
	h.ops[pattern] = op
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		x := w.(*exchange) // the mux is private: ServeHTTP is its only caller
		x.op = op
		caller, err := h.auth.Authenticate(r)
		if err != nil {
			x.noteAuthFailure(err)
			h.writeError(x, r, err)
			return
		}
		x.account = caller.AccountID
		if err := h.admit(op, caller.AccountID, r); err != nil {
			h.writeError(x, r, err)
			return
		}
		serve(x, r, caller)
	})
}

// unknownOperation answers a request that matches no operation.
func (h *Handler) unknownOperation(x *exchange, r *http.Request) {
	x.op = opUnknown
	h.writeError(x, r, ebs.E("", ebs.KindUnknownOperation, "",
		"No operation matches %s %s.", r.Method, r.URL.EscapedPath()))
}

// finish records the metrics and access log of a served request.
func (h *Handler) finish(x *exchange, r *http.Request, d time.Duration) {
	if x.Status == 0 {
		// Nothing was written: net/http will send an empty 200.
		x.Status = http.StatusOK
	}
	outcome := x.outcome
	if outcome == "" {
		outcome = outcomeSuccess
	}
	h.metrics.requests.Observe(int(x.op), outcome, d, x.body.n, x.Sent)
	h.logAccess(r.Context(), x, outcome, d)
}
