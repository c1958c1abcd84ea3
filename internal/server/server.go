package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/sigv4"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store/packblocks"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
)

// Options configure a Server.
type Options struct {
	DataDir             string
	Credentials         *credentials.Store
	KMSKeysFile         string // "" = <DataDir>/kms-keys.json
	Region              string
	PackSize            int64 // 0 = packblocks' default
	MaxPendingSnapshots int
	SweepInterval       time.Duration
	Logger              *slog.Logger
	// Now is the service's clock (timeouts, token expiry); nil = time.Now.
	// Tests inject one. Signatures and Date headers always use real time.
	Now func() time.Time
}

// Server is a running ebsd: stores, service and HTTP handler.
type Server struct {
	opts    Options
	meta    *pebblemeta.Store
	blocks  *packblocks.Store
	service *snapshot.Service
	handler http.Handler
	http    *http.Server
	stop    context.CancelFunc
	swept   chan struct{}
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
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	s := &Server{opts: opts, swept: make(chan struct{})}
	var err error
	if s.meta, err = pebblemeta.Open(ctx, pebblemeta.Options{Dir: filepath.Join(opts.DataDir, "meta")}); err != nil {
		return nil, fmt.Errorf("open metadata store in %s: %w", opts.DataDir, err)
	}
	if s.blocks, err = packblocks.Open(ctx, packblocks.Options{Dir: filepath.Join(opts.DataDir, "blocks"), PackSize: opts.PackSize}); err != nil {
		s.meta.Close()
		return nil, fmt.Errorf("open block store in %s: %w", opts.DataDir, err)
	}
	keys, err := keyring.Open(opts.KMSKeysFile, opts.Region)
	if err != nil {
		s.closeStores()
		return nil, fmt.Errorf("open KMS keys: %w", err)
	}
	s.service, err = snapshot.New(ctx, snapshot.Options{
		Meta:                s.meta,
		Blocks:              s.blocks,
		Keys:                keys,
		MaxPendingSnapshots: opts.MaxPendingSnapshots,
		SweepInterval:       opts.SweepInterval,
		Now:                 opts.Now,
		Logger:              opts.Logger,
	})
	if err != nil {
		s.closeStores()
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerStoreMetrics(reg, s.service, s.blocks)
	h, err := api.New(api.Options{
		Service:    s.service,
		Auth:       &authenticator{v: &sigv4.Verifier{Service: "ebs", Keys: opts.Credentials}},
		Logger:     opts.Logger,
		Registerer: reg,
	})
	if err != nil {
		s.closeStores()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", h)
	s.handler = mux
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Service returns the snapshot service, for tests.
func (s *Server) Service() *snapshot.Service { return s.service }

// Serve accepts requests on ln until Shutdown, and runs the timeout
// sweeper meanwhile. tls, when not nil, names the certificate and key files.
func (s *Server) Serve(ln net.Listener, certFile, keyFile string) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() {
		defer close(s.swept)
		_ = s.service.Run(ctx)
	}()
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
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
	var err error
	if s.http != nil {
		if err = s.http.Shutdown(ctx); err != nil {
			s.http.Close()
		}
	}
	if s.stop != nil {
		s.stop()
		<-s.swept
	}
	return err
}

// Close releases the stores. Call it after Shutdown.
func (s *Server) Close() error { return s.closeStores() }

func (s *Server) closeStores() error {
	var errs []error
	if s.blocks != nil {
		errs = append(errs, s.blocks.Close())
	}
	if s.meta != nil {
		errs = append(errs, s.meta.Close())
	}
	return errors.Join(errs...)
}
