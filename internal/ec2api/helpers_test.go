package ec2api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ebsd/ebsd/internal/ec2api"
)

var ctx = context.Background()

// Accounts of the test servers.
const (
	aliceKey, aliceSecret, aliceAccount = "AKIAALICE00000000001", "alice-secret", "111111111111"
	bobKey, bobSecret, bobAccount       = "AKIABOB0000000000002", "bob-secret", "222222222222"
)

type keys map[string][2]string

func (k keys) SecretKey(id string) (string, string, bool) {
	v, ok := k[id]
	return v[0], v[1], ok
}

var testKeys = keys{aliceKey: {aliceSecret, aliceAccount}, bobKey: {bobSecret, bobAccount}}

// testServer is a Handler over a fake service on a loopback port.
type testServer struct {
	URL  string
	fake *fakeService
	h    *ec2api.Handler
}

func startServer(t testing.TB, opts ec2api.Options) *testServer {
	t.Helper()
	fake := newFake()
	if opts.Service == nil {
		opts.Service = fake
	}
	if opts.Keys == nil {
		opts.Keys = testKeys
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h, err := ec2api.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /{$}", h)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &testServer{URL: hs.URL, fake: fake, h: h}
}

func awsConfig(key, secret string) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
	}
}

// ec2Client returns an official EC2 client of Alice (or of key), SDK
// retries off so that tests see every error.
func (s *testServer) ec2Client(key, secret string) *ec2.Client {
	return ec2.NewFromConfig(awsConfig(key, secret), func(o *ec2.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.RetryMaxAttempts = 1
	})
}

func (s *testServer) stsClient(key, secret string) *sts.Client {
	return sts.NewFromConfig(awsConfig(key, secret), func(o *sts.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.RetryMaxAttempts = 1
	})
}
