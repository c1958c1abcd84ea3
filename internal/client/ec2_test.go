package client_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ebsd/ebsd/internal/client"
)

// TestEC2SDKFailsFast: the EC2 client keeps the SDK's retries, but not
// for a certificate it does not trust, which no retry can cure: one
// connection, not three (issue 16's fail-fast, for the EC2 commands).
func TestEC2SDKFailsFast(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1",
		"AWS_PROFILE": "", "AWS_CA_BUNDLE": "", "AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_EC2": "",
	} {
		t.Setenv(k, v)
	}
	api, err := client.NewEC2SDK(context.Background(), client.SDKOptions{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{})
	if err == nil || !client.Hopeless(err) {
		t.Fatalf("err %v, want an untrusted certificate", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1: an untrusted certificate was retried", n)
	}
}
