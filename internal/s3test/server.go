package s3test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// EnvServer names an S3-compatible server for the tests to use instead of
// starting MinIO: http://ACCESS_KEY:SECRET_KEY@HOST:PORT. Tests create
// buckets on it and leave them there.
const EnvServer = "EBSD_TEST_S3"

// Server is an S3-compatible server that tests may create buckets on.
type Server struct {
	Endpoint  string // http://host:port
	Region    string
	AccessKey string
	SecretKey string
	Engine    string // "minio", or "external" for EnvServer's

	buckets atomic.Int64
}

// The server of this test binary: started by the first Start, stopped by
// Main once every test has run. This is the one piece of package state: a
// test binary shares one server, as it shares one process.
var (
	mainCalled atomic.Bool
	startOnce  sync.Once
	started    *Server
	startErr   error
	stopServer func()
)

// Main runs the tests of m and then stops the server, if one was started,
// and exits with m's status. Call it from TestMain.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain that stops other servers
// too (pgtest's): it returns m's status.
func Run(m *testing.M) int {
	mainCalled.Store(true)
	code := m.Run()
	if stopServer != nil {
		stopServer()
	}
	return code
}

// Start returns the server of this test binary, starting it on first use.
// It skips tb when no server can be had, or fails it when CI is set.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("s3test: the package's TestMain must call s3test.Main(m) or Run(m), which stop the server at the end")
	}
	startOnce.Do(func() { started, stopServer, startErr = start() })
	if startErr != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("s3test: %v", startErr)
		}
		tb.Skipf("s3test: %v", startErr)
	}
	return started
}

// start starts the server EnvServer names, or else MinIO.
func start() (*Server, func(), error) {
	if v := os.Getenv(EnvServer); v != "" {
		s, err := parseEnv(v)
		return s, nil, err
	}
	return startMinIO()
}

// parseEnv reads EnvServer's value.
func parseEnv(v string) (*Server, error) {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User == nil {
		return nil, fmt.Errorf("%s=%q: want http://ACCESS_KEY:SECRET_KEY@HOST:PORT", EnvServer, v)
	}
	secret, _ := u.User.Password()
	return &Server{
		Endpoint:  u.Scheme + "://" + u.Host,
		Region:    "us-east-1",
		AccessKey: u.User.Username(),
		SecretKey: secret,
		Engine:    "external",
	}, nil
}

// Client returns an S3 client for the server, path-style, as MinIO wants
// on a loopback address without DNS names for buckets.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		UsePathStyle: true,
	})
}

// NewBucket creates an empty bucket of its own for tb and returns its name.
func (s *Server) NewBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("ebsd-test-%d-%d", os.Getpid(), s.buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("s3test: create bucket %s: %v", name, err)
	}
	return name
}
