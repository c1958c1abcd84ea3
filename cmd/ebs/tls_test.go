package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestTLSEndpoint runs ebs, with the real SDK client and its default
// configuration chain, against ebsd behind a TLS server with a
// self-signed certificate (issue 16): the CA bundle is honoured from
// --ca-bundle, AWS_CA_BUNDLE and the profile's ca_bundle, and failures no
// retry can cure fail at once, with a hint.
func TestTLSEndpoint(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections) // before the server stops
	id := (&readEnv{api: ebstest.NewClient(srv.URL, ebstest.Alice, &http.Client{Transport: tr})}).snapshot(t, "", map[int32][]byte{3: ebstest.Random(3)})
	backend, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(backend)
	proxy.Transport = tr
	tlsSrv := httptest.NewTLSServer(proxy)
	t.Cleanup(tlsSrv.Close)

	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(dir, "config")
	if err := os.WriteFile(profile, []byte("[default]\nca_bundle = "+ca+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	port := tlsSrv.URL[strings.LastIndex(tlsSrv.URL, ":"):]
	plainHTTPS := "https://" + strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name     string
		endpoint string
		flags    []string
		env      map[string]string
		code     int
		hint     string // in stderr, when code != 0
	}{
		{"untrusted", tlsSrv.URL, nil, nil, 1, "--ca-bundle"},
		{"--ca-bundle", tlsSrv.URL, []string{"--ca-bundle", ca}, nil, 0, ""},
		{"AWS_CA_BUNDLE", tlsSrv.URL, nil, map[string]string{"AWS_CA_BUNDLE": ca}, 0, ""},
		{"profile ca_bundle", tlsSrv.URL, nil, map[string]string{"AWS_CONFIG_FILE": profile}, 0, ""},
		{"--ca-bundle wins over AWS_CA_BUNDLE", tlsSrv.URL, []string{"--ca-bundle", ca}, map[string]string{"AWS_CA_BUNDLE": notPEM}, 0, ""},
		{"--ca-bundle not PEM", tlsSrv.URL, []string{"--ca-bundle", notPEM}, nil, 1, "no PEM certificate"},
		{"wrong host name", "https://localhost" + port, []string{"--ca-bundle", ca}, nil, 1, "not for this host name"},
		{"https to plain http", plainHTTPS, nil, nil, 1, "does not speak TLS"},
		{"http to https", "http://" + strings.TrimPrefix(tlsSrv.URL, "https://"), nil, nil, 1, "use https://"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{
				"AWS_ACCESS_KEY_ID": ebstest.Alice.AccessKeyID, "AWS_SECRET_ACCESS_KEY": ebstest.Alice.SecretAccessKey,
				"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CA_BUNDLE": "",
				"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true",
				"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_EBS": "",
			}
			for k, v := range tc.env {
				env[k] = v
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &errb}
			args := append([]string{"info", "--endpoint-url", tc.endpoint, "--state-dir", t.TempDir()}, tc.flags...)
			began := time.Now()
			code := m.Run(context.Background(), append(args, id))
			took := time.Since(began)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			if code == 0 {
				if !strings.Contains(out.String(), id) {
					t.Errorf("stdout %q does not describe %s", out.String(), id)
				}
				return
			}
			if !strings.Contains(errb.String(), tc.hint) {
				t.Errorf("stderr %q: want a hint with %q", errb.String(), tc.hint)
			}
			// No retries: the default policy would take tens of seconds.
			if strings.Contains(errb.String(), "gave up after") || took > 5*time.Second {
				t.Errorf("failed after %v: %q; want at once, without retries", took, errb.String())
			}
		})
	}
}
