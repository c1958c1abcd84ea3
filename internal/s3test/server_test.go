package s3test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestMain(m *testing.M) { Main(m) }

// TestEngines starts each engine and checks that it is the one asked
// for, that it takes the credentials it was given, and that an object
// goes in and comes out of a bucket of its own.
func TestEngines(t *testing.T) {
	for _, name := range []string{EngineMinIO, EngineVersityGW} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := StartEngine(t, name)
			if s.Engine != name {
				t.Errorf("StartEngine(%q).Engine = %q", name, s.Engine)
			}
			if again := StartEngine(t, name); again != s {
				t.Errorf("a second StartEngine(%q) started another server", name)
			}
			ctx := t.Context()
			c, bucket := s.Client(), s.NewBucket(t)
			body := []byte("s3test " + name)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b"),
				Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))}); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b")})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("GetObject = %q, %v; want %q", got, err, body)
			}
			// A client with a wrong secret is refused: the server checks
			// signatures with the credentials it was started with.
			wrong := &Server{Endpoint: s.Endpoint, Region: s.Region, AccessKey: s.AccessKey, SecretKey: s.SecretKey + "x"}
			_, err = wrong.Client().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
			var nf *types.NotFound
			if err == nil || errors.As(err, &nf) {
				t.Errorf("HeadBucket with a wrong secret = %v, want refused", err)
			}
		})
	}
}

// TestStartFollowsEnvEngine checks that Start starts the engine
// EBSD_TEST_S3_ENGINE names, and the one StartEngine shares.
func TestStartFollowsEnvEngine(t *testing.T) {
	t.Setenv(EnvServer, "")
	for _, tc := range []struct{ env, want string }{
		{"", EngineMinIO},
		{EngineMinIO, EngineMinIO},
		{EngineVersityGW, EngineVersityGW},
	} {
		t.Run(tc.want+"/"+tc.env, func(t *testing.T) {
			t.Setenv(EnvEngine, tc.env)
			s := Start(t)
			if s.Engine != tc.want || s != StartEngine(t, tc.want) {
				t.Errorf("with %s=%q Start gave the %q server, want the %q one StartEngine gives", EnvEngine, tc.env, s.Engine, tc.want)
			}
		})
	}
}

func TestParseEnv(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want *Server
	}{
		{"http://ak:sk@127.0.0.1:9000", true, &Server{Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", AccessKey: "ak", SecretKey: "sk", Engine: EngineExternal}},
		{"http://127.0.0.1:9000", false, nil},
		{"ak:sk@host", false, nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := parseEnv(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("parseEnv(%q) error = %v, want ok %v", tc.in, err, tc.ok)
			}
			if err != nil {
				return
			}
			if s.Endpoint != tc.want.Endpoint || s.Region != tc.want.Region || s.AccessKey != tc.want.AccessKey ||
				s.SecretKey != tc.want.SecretKey || s.Engine != tc.want.Engine {
				t.Errorf("parseEnv(%q) = %+v, want %+v", tc.in, s, tc.want)
			}
		})
	}
}
