package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ec2api"
	"github.com/ebsd/ebsd/internal/fsutil"
	"github.com/ebsd/ebsd/internal/gc"
	"github.com/ebsd/ebsd/internal/sigv4"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
	"github.com/ebsd/ebsd/internal/store/s3blocks"
	"github.com/ebsd/ebsd/internal/throttle"
)

// Options configure a Server.
type Options struct {
	DataDir             string
	Credentials         *credentials.Store
	KMSKeysFile         string // "" = <DataDir>/kms-keys.json
	Region              string
	PackSize            int64  // 0 = packblocks' default
	Compression         string // -compression: "off" (the default, also ""), "zstd" or "zstd-on-write"
	MaxPendingSnapshots int
	SweepInterval       time.Duration
	Logger              *slog.Logger
	// AccessLogLevel is the level of the one line logged per EBS API
	// request; the zero value is Info (see api.Options.AccessLogLevel).
	AccessLogLevel slog.Level
	// Now is the service's clock (timeouts, token expiry); nil = time.Now.
	// Tests inject one. Signatures and Date headers always use real time.
	Now func() time.Time
	// Throttle, when not nil, is the request-rate quotas every account's
	// requests are held to (-throttle aws); nil enforces none.
	Throttle *throttle.Quotas
	// Transfer bounds slow request bodies and responses; zero fields take
	// api's defaults. MaxInFlight bounds the EBS requests served at once
	// (0 = api.DefaultMaxInFlight); /healthz and /metrics are not counted.
	Transfer    TransferLimits
	MaxInFlight int
	// MinFreeSpace is the free space in bytes below which the data
	// directory's disk counts as full: blocks are refused (a retryable
	// 503) and a restart opens the metadata and the block index
	// read-only. 0 = pebblemeta.DefaultMinFreeBytes (the same as
	// packblocks.DefaultMinFreeBytes); negative = no check.
	MinFreeSpace int64
	// GC configures the garbage collector.
	GC GCOptions
	// StorageQuota is each account's storage quota in bytes (-storage-quota)
	// unless its entries in Credentials set one; 0 means none.
	StorageQuota int64
	// Backends say where the metadata and blocks live; the zero value is
	// the data directory.
	Backends Backends
}

// TransferLimits bound how slowly a request body may arrive and a response
// leave; see api.TransferLimits for the rule.
type TransferLimits = api.TransferLimits

// Limits of the header phase of a request.
const (
	// headerTimeout bounds reading a request line and its headers.
	headerTimeout = 30 * time.Second
	// maxHeaderBytes bounds them in size (net/http adds 4 KiB of slack).
	// The largest request an SDK sends, a PutSnapshotBlock, has about
	// 1 KiB of request line and headers, plus an X-Amz-Security-Token of a
	// few KiB with temporary credentials; block and page tokens (~200
	// bytes) ride in the query. 64 KiB leaves ample room (an 8 KiB token
	// passes in TestHeaderLimit) and is 1/16 of net/http's default.
	maxHeaderBytes = 64 << 10
)

// Server is a running ebsd: stores, service and HTTP handler.
type Server struct {
	opts    Options
	meta    metaBackend
	blocks  blockBackend
	pebble  *pebblemeta.Store // meta when embedded, else nil
	packs   *packblocks.Store // blocks when embedded, else nil
	pool    *pgxpool.Pool     // PostgreSQL, in distributed mode
	service *snapshot.Service
	keys    keyProvider
	handler http.Handler
	http    *http.Server       // made by Open, served by Serve
	runCtx  context.Context    // of the background work Serve starts
	stop    context.CancelFunc // cancels runCtx

	mu      sync.Mutex
	started bool // Serve started the background work
	shut    bool // Shutdown was called
	swept   chan struct{}
	lock    *dataDirLock // released last, after the stores
	reserve *reserve
	gc      *gc.Collector
}

// Open opens (creating on first use) the stores under opts.DataDir and
// builds the server. Call Serve to accept requests and Close when done.
func Open(ctx context.Context, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Credentials == nil {
		return nil, errors.New("server: no credentials")
	}
	if opts.KMSKeysFile == "" {
		opts.KMSKeysFile = filepath.Join(opts.DataDir, "kms-keys.json")
	}
	compression, err := packblocks.ParseCompression(cmp.Or(opts.Compression, "off"))
	if err != nil {
		return nil, err
	}
	if err := fsutil.Private(opts.DataDir); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	s := &Server{opts: opts, swept: make(chan struct{})}
	if err := s.openStores(ctx, compression); err != nil {
		s.closeStores()
		return nil, err
	}
	s.logSpace()
	if s.keys, err = s.openKeys(); err != nil {
		s.closeStores()
		return nil, err
	}
	opts.Credentials.SetLogger(opts.Logger)
	var blocks store.BlockStore = s.blocks
	if s.pebble != nil {
		blocks = newSpaceGuard(s.blocks, s.pebble, opts.Logger, opts.DataDir)
	}
	s.service, err = snapshot.New(ctx, snapshot.Options{
		Meta:                s.meta,
		Blocks:              blocks,
		Keys:                s.keys,
		Compression:         compression != packblocks.CompressionOff,
		MaxPendingSnapshots: opts.MaxPendingSnapshots,
		SweepInterval:       opts.SweepInterval,
		StorageQuota:        storageQuota(opts.Credentials, opts.StorageQuota),
		Now:                 opts.Now,
		Logger:              opts.Logger,
	})
	if err != nil {
		s.closeStores()
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerStoreMetrics(reg, s.service, s.packs)
	if bs, ok := s.blocks.(*s3blocks.Store); ok {
		registerS3Metrics(reg, bs, opts.Logger)
	}
	registerSpaceMetrics(reg, s)
	if s.gc, err = s.newCollector(reg); err != nil {
		s.closeStores()
		return nil, err
	}
	var limiter *throttle.Limiter
	if opts.Throttle != nil {
		limiter = throttle.New(*opts.Throttle, nil)
	}
	h, err := api.New(api.Options{
		Service:     s.service,
		Auth:        &authenticator{v: &sigv4.Verifier{Service: "ebs", Keys: opts.Credentials}},
		Logger:      opts.Logger,
		Throttle:    limiter,
		Registerer:  reg,
		Transfer:    opts.Transfer,
		MaxInFlight: opts.MaxInFlight,

		AccessLogLevel: opts.AccessLogLevel,
	})
	if err != nil {
		s.closeStores()
		return nil, err
	}
	// The EC2 and STS Query APIs share the listener: every request of
	// theirs is POST /, which no EBS direct route uses (docs/ec2-api.md).
	q, err := ec2api.New(ec2api.Options{
		Service:     s.service,
		Keys:        opts.Credentials,
		Region:      opts.Region,
		Logger:      opts.Logger,
		Throttle:    limiter,
		Registerer:  reg,
		BodyTimeout: opts.Transfer.WithDefaults().Stall,

		AccessLogLevel: opts.AccessLogLevel,
	})
	if err != nil {
		s.closeStores()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /{$}", q)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		s.health(w)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", h)
	s.handler = mux
	// The EBS handler times each body and response by its progress
	// (api.TransferLimits). ReadTimeout and WriteTimeout only cap the rest
	// (/healthz, /metrics) and reset a connection's deadlines per request.
	maxTransfer := s.opts.Transfer.WithDefaults().Max
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       maxTransfer,
		WriteTimeout:      maxTransfer,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	s.runCtx, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// Reload re-reads the credentials and KMS keys files, as on SIGHUP. A file
// that fails to load leaves what was read before in force; the error, also
// logged, says what is wrong.
func (s *Server) Reload() error {
	var errs []error
	if f := s.opts.Credentials.File(); f != "" {
		if err := s.opts.Credentials.Reload(); err != nil {
			s.opts.Logger.Error("reloading the credentials file failed; keeping the credentials read before", "file", f, "err", err)
			errs = append(errs, err)
		} else {
			s.opts.Logger.Info("reloaded the credentials file", "file", f, "credentials", len(s.opts.Credentials.Credentials()))
		}
	}
	if file, n, err := s.keys.Reload(); err != nil {
		s.opts.Logger.Error("reloading the KMS keys file failed; keeping the keys read before", "file", file, "err", err)
		errs = append(errs, err)
	} else {
		s.opts.Logger.Info("reloaded the KMS keys file", "file", file, "keys", n)
	}
	return errors.Join(errs...)
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Service returns the snapshot service, for tests.
func (s *Server) Service() *snapshot.Service { return s.service }

// Serve accepts requests on ln until Shutdown, and runs the timeout
// sweeper meanwhile. tls, when not nil, names the certificate and key files.
//
// A Shutdown that comes first (a SIGTERM during start-up, a test that
// stops at once) makes Serve return nil at once: the http.Server and the
// background context exist from Open on, so that there is nothing for
// the two to race on.
func (s *Server) Serve(ln net.Listener, certFile, keyFile string) error {
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.started = true
	s.mu.Unlock()
	go func() {
		defer close(s.swept)
		done := make(chan struct{})
		go func() { defer close(done); s.runCollector(s.runCtx) }()
		_ = s.service.Run(s.runCtx)
		<-done
	}()
	var err error
	if certFile != "" {
		err = s.http.ServeTLS(ln, certFile, keyFile)
	} else {
		err = s.http.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests and waits, until ctx is done, for the
// ones in flight to finish; then it closes whatever connections remain and
// returns ctx's error. Stores stay open until Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shut = true
	started := s.started
	s.mu.Unlock()
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	s.stop()
	if started {
		<-s.swept
	}
	return err
}

// Close releases the stores. Call it after Shutdown.
func (s *Server) Close() error {
	if s.stop != nil {
		s.stop()
	}
	return s.closeStores()
}

func (s *Server) closeStores() error {
	var errs []error
	if s.reserve != nil {
		s.reserve.halt()
		s.reserve.releaseIfFull("close")
	}
	if s.blocks != nil {
		errs = append(errs, s.blocks.Close())
	}
	if s.meta != nil {
		errs = append(errs, s.meta.Close())
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.lock != nil {
		errs = append(errs, s.lock.release())
		s.lock = nil
	}
	return errors.Join(errs...)
}
