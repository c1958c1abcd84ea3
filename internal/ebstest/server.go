package ebstest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/server"
	"github.com/ebsd/ebsd/internal/throttle"
)

// Accounts and keys of the servers ebstest starts.
var (
	Alice = ebscreds.Credential{AccessKeyID: "AKIAALICE00000000001", SecretAccessKey: "alice-secret-key-0000000000000000000000", AccountID: "111111111111"}
	Bob   = ebscreds.Credential{AccessKeyID: "AKIABOB0000000000002", SecretAccessKey: "bob-secret-key-00000000000000000000000", AccountID: "222222222222"}
)

// Options tune a test server. The zero value is fine.
type Options struct {
	DataDir string       // "" = a fresh t.TempDir()
	Clock   *Clock       // nil = the real clock
	Logger  *slog.Logger // nil = discard
	// Throttle, when not nil, enforces these request-rate quotas.
	Throttle *throttle.Quotas
}

// Server is a running ebsd on a loopback port.
type Server struct {
	URL     string
	DataDir string
	Clock   *Clock

	t    testing.TB
	opts Options
	srv  *server.Server
	done chan error
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	s := &Server{DataDir: opts.DataDir, Clock: opts.Clock, t: t, opts: opts}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	creds, err := ebscreds.New([]ebscreds.Credential{Alice, Bob})
	if err != nil {
		s.t.Fatal(err)
	}
	logger := s.opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var now func() time.Time
	if s.opts.Clock != nil {
		now = s.opts.Clock.Now
	}
	srv, err := server.Open(context.Background(), server.Options{
		DataDir: s.DataDir, Credentials: creds, Region: "us-east-1", Logger: logger, Now: now,
		PackSize: 8 << 20, Throttle: s.opts.Throttle,
	})
	if err != nil {
		s.t.Fatalf("open server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		s.t.Fatal(err)
	}
	s.srv, s.URL, s.done = srv, "http://"+ln.Addr().String(), make(chan error, 1)
	go func() { s.done <- srv.Serve(ln, "", "") }()
}

// Stop shuts the server down gracefully and closes its stores. It is safe
// to call twice.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	// A client may leave a connection it opened but never used, which
	// net/http waits 5 s for; tests need no more than a second's grace.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.t.Errorf("shutdown: %v", err)
	}
	if err := <-s.done; err != nil {
		s.t.Errorf("serve: %v", err)
	}
	if err := s.srv.Close(); err != nil {
		s.t.Errorf("close: %v", err)
	}
	s.srv = nil
}

// Restart stops the server and starts a new one on the same data directory
// (on a new port: clients must be made anew).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Internal returns the in-process server, e.g. to run a sweep.
func (s *Server) Internal() *server.Server { return s.srv }

// Client returns an official EBS client for cred, with SDK retries off so
// that tests see every error.
func (s *Server) Client(cred ebscreds.Credential) *ebs.Client {
	return NewClient(s.URL, cred, &http.Client{Timeout: 60 * time.Second})
}

// NewClient returns an official EBS client for endpoint.
func NewClient(endpoint string, cred ebscreds.Credential, hc *http.Client) *ebs.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(cred.AccessKeyID, cred.SecretAccessKey, ""),
		HTTPClient:  hc,
	}
	return ebs.NewFromConfig(cfg, func(o *ebs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
}
