package s3test

import (
	"cmp"
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
// starting one: http://ACCESS_KEY:SECRET_KEY@HOST:PORT. Tests create
// buckets on it and leave them there.
const EnvServer = "EBSD_TEST_S3"

// EnvEngine names the engine Start starts when EnvServer is not set:
// EngineMinIO (the default) or EngineVersityGW.
const EnvEngine = "EBSD_TEST_S3_ENGINE"

// EngineExternal is the Engine of EnvServer's server.
const EngineExternal = "external"

// engines are the servers this package can start, by Engine.
var engines = map[string]*engine{EngineMinIO: minio, EngineVersityGW: versitygw}

// Server is an S3-compatible server that tests may create buckets on.
type Server struct {
	Endpoint  string // http://host:port
	Region    string
	AccessKey string
	SecretKey string
	Engine    string // EngineMinIO, EngineVersityGW, or EngineExternal

	buckets atomic.Int64
}

// lazyServer is a server of the test binary, started on first use.
type lazyServer struct {
	once sync.Once
	srv  *Server
	stop func() // nil for EnvServer's, which the tests did not start
	err  error
}

// The servers of this test binary, one per engine: started by the first
// Start or StartEngine that asks for it, stopped by Run once every test
// has run. This is the one piece of package state: a test binary shares
// its servers, as it shares one process.
var (
	mainCalled atomic.Bool
	serversMu  sync.Mutex
	servers    = map[string]*lazyServer{}
)

// Main runs the tests of m and then stops the servers that were started,
// and exits with m's status. Call it from TestMain.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain that stops other servers
// too (pgtest's): it returns m's status.
func Run(m *testing.M) int {
	mainCalled.Store(true)
	code := m.Run()
	serversMu.Lock()
	defer serversMu.Unlock()
	for _, l := range servers {
		// Every test has ended, so no once is still running.
		if l.stop != nil {
			l.stop()
		}
	}
	return code
}

// Start returns the test binary's default server, starting it on first
// use: EnvServer's if set, else one of EnvEngine's engine, MinIO unless
// it says otherwise. It skips tb when no server can be had, or fails it
// when CI is set.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if os.Getenv(EnvServer) != "" {
		return get(tb, EngineExternal, func() (*Server, func(), error) {
			s, err := parseEnv(os.Getenv(EnvServer))
			return s, nil, err
		})
	}
	name := cmp.Or(os.Getenv(EnvEngine), EngineMinIO)
	e, ok := engines[name]
	if !ok {
		tb.Fatalf("s3test: %s=%q: want %s or %s", EnvEngine, name, EngineMinIO, EngineVersityGW)
	}
	return get(tb, name, func() (*Server, func(), error) {
		s, stop, err := e.start()
		if err != nil {
			err = fmt.Errorf("%w (or set %s)", err, EnvServer)
		}
		return s, stop, err
	})
}

// StartEngine returns the test binary's server of the engine named,
// EngineMinIO or EngineVersityGW, starting it on first use whatever
// EnvServer and EnvEngine say: for the tests that run against every
// engine. It skips tb when the engine's program is not installed, or
// fails it when CI is set (CI installs every engine).
func StartEngine(tb testing.TB, name string) *Server {
	tb.Helper()
	e, ok := engines[name]
	if !ok {
		tb.Fatalf("s3test: no engine %q: want %s or %s", name, EngineMinIO, EngineVersityGW)
	}
	return get(tb, name, e.start)
}

// get returns the server of the binary known as key, starting it with
// start on first use.
func get(tb testing.TB, key string, start func() (*Server, func(), error)) *Server {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("s3test: the package's TestMain must call s3test.Main(m) or Run(m), which stop the servers at the end")
	}
	serversMu.Lock()
	l, ok := servers[key]
	if !ok {
		l = &lazyServer{}
		servers[key] = l
	}
	serversMu.Unlock()
	l.once.Do(func() { l.srv, l.stop, l.err = start() })
	if l.err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("s3test: %v", l.err)
		}
		tb.Skipf("s3test: %v", l.err)
	}
	return l.srv
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
		Engine:    EngineExternal,
	}, nil
}

// Client returns an S3 client for the server, path-style, as servers on
// a loopback address without DNS names for buckets want.
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
