package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/throttle"
)

// Secrets of the access-log test: none of them may appear in a log line.
const (
	logKeyID      = "AKIDACCESSLOGTEST"
	logSecret     = "s3cr3t-0f-the-access-log-test-do-not-log"
	logBlockToken = "BLOCKTOKEN-do-not-log-0123456789"
	logPageToken  = "PAGETOKEN-do-not-log-0123456789"
)

// logKeys knows logKeyID only.
type logKeys struct{}

func (logKeys) SecretKey(id string) (string, string, bool) {
	if id == logKeyID {
		return logSecret, testAccount, true
	}
	return "", "", false
}

// sigv4Auth authenticates with the real verifier, and turns its refusals
// into api.AuthFailure like the server's adapter does.
type sigv4Auth struct{ v *sigv4.Verifier }

func (a sigv4Auth) Authenticate(r *http.Request) (api.Caller, error) {
	id, err := a.v.Verify(r)
	if err != nil {
		if f := sigv4.FailureOf(err); f != nil {
			_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
			keyID, _, _ := strings.Cut(cred, "/")
			return api.Caller{}, &api.AuthFailure{Err: err, Reason: f.Cause.String(), AccessKeyID: keyID, ClockSkew: f.Skew}
		}
		return api.Caller{}, err
	}
	return api.Caller{AccountID: id.AccountID, PayloadHash: id.PayloadHash}, nil
}

// TestAccessLogLines checks the one line per request at the default level:
// its fields for successes, client errors and every kind of authentication
// failure, and that it never holds a secret, a signature or a token.
func TestAccessLogLines(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// sign returns a request signed with keyID/secret at date.
	sign := func(method, target, body, keyID, secret string, date time.Time) *http.Request {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if err := sigv4.Sign(r, keyID, secret, "us-east-1", "ebs", sigv4.UnsignedPayload, date); err != nil {
			t.Fatal(err)
		}
		return r
	}
	getBlock := "/snapshots/snap-1/blocks/7?blockToken=" + logBlockToken
	listBlocks := "/snapshots/snap-1/blocks?pageToken=" + logPageToken

	tests := []struct {
		name     string
		reqs     []*http.Request // the line of the last one is checked
		notFound bool            // the service answers ResourceNotFoundException
		throttle bool            // one GetSnapshotBlock per snapshot, then throttled
		want     map[string]any
		wantSkew bool // the line has clock_skew
	}{
		{name: "Success", reqs: []*http.Request{sign("PUT", "/snapshots/snap-1/blocks/0", "12345", logKeyID, logSecret, now)},
			want: map[string]any{"operation": "PutSnapshotBlock", "status": 201.0, "error_type": "", "account": testAccount,
				"received_bytes": 5.0, "sent_bytes": 2.0}},
		{name: "NotFound", notFound: true, reqs: []*http.Request{sign("GET", getBlock, "", logKeyID, logSecret, now)},
			want: map[string]any{"operation": "GetSnapshotBlock", "status": 404.0, "error_type": "ResourceNotFoundException",
				"account": testAccount, "received_bytes": 0.0}},
		{name: "UnknownKey", reqs: []*http.Request{sign("GET", listBlocks, "", "AKIDNOSUCHKEY", logSecret, now)},
			want: map[string]any{"operation": "ListSnapshotBlocks", "status": 403.0, "error_type": "UnrecognizedClientException",
				"account": "", "auth_failure": "unknown_access_key_id", "access_key_id": "AKIDNOSUCHKEY"}},
		{name: "BadSignature", reqs: []*http.Request{sign("GET", getBlock, "", logKeyID, "wrong-secret", now)},
			want: map[string]any{"operation": "GetSnapshotBlock", "status": 403.0, "error_type": "InvalidSignatureException",
				"account": "", "auth_failure": "signature_mismatch", "access_key_id": logKeyID}},
		{name: "ClockSkew", reqs: []*http.Request{sign("GET", getBlock, "", logKeyID, logSecret, now.Add(-20*time.Minute))},
			want: map[string]any{"operation": "GetSnapshotBlock", "status": 403.0, "error_type": "InvalidSignatureException",
				"account": "", "auth_failure": "clock_skew", "access_key_id": logKeyID}, wantSkew: true},
		{name: "MissingAuth", reqs: []*http.Request{httptest.NewRequest("GET", getBlock, nil)},
			want: map[string]any{"operation": "GetSnapshotBlock", "status": 403.0, "error_type": "MissingAuthenticationTokenException",
				"account": "", "auth_failure": "missing_authorization"}},
		{name: "Throttled", throttle: true, reqs: []*http.Request{
			sign("GET", getBlock, "", logKeyID, logSecret, now), sign("GET", getBlock, "", logKeyID, logSecret, now)},
			want: map[string]any{"operation": "GetSnapshotBlock", "status": 400.0, "error_type": "RequestThrottledException",
				"account": testAccount}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			svc := &fakeService{}
			if tt.notFound {
				svc.get = func(context.Context, snapshot.GetBlockInput) (*snapshot.GetBlockOutput, error) {
					return nil, ebs.E("GetSnapshotBlock", ebs.KindNotFound, ebs.ReasonSnapshotNotFound, "The snapshot 'snap-1' does not exist.")
				}
			}
			h := newHandler(t, svc, func(o *api.Options) {
				// The default level of ebsd.
				o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
				o.Auth = sigv4Auth{&sigv4.Verifier{Keys: logKeys{}, Now: func() time.Time { return now }}}
				o.Now = func() time.Time { return now }
				if tt.throttle {
					o.Throttle = oneAtATime(t, throttle.GetSnapshotBlock, throttle.Snapshot)
				}
			})
			var w *httptest.ResponseRecorder
			for _, r := range tt.reqs {
				w = serve(t, h, r)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != len(tt.reqs) {
				t.Fatalf("%d log lines for %d requests:\n%s", len(lines), len(tt.reqs), logs.String())
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
				t.Fatalf("log %q: %v", lines[len(lines)-1], err)
			}
			want := map[string]any{"level": "INFO", "msg": "request", "request_id": w.Header().Get("X-Amzn-RequestId"),
				"remote_addr": "192.0.2.1:1234"}
			for k, v := range tt.want {
				want[k] = v
			}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("log %s = %#v, want %#v", k, line[k], v)
				}
			}
			for _, k := range []string{"duration", "received_bytes", "sent_bytes", "error_type", "account"} {
				if _, ok := line[k]; !ok {
					t.Errorf("log has no %s: %s", k, lines[len(lines)-1])
				}
			}
			if _, ok := line["auth_failure"]; ok && tt.want["auth_failure"] == nil {
				t.Errorf("log has an auth_failure: %s", lines[len(lines)-1])
			}
			if _, ok := line["clock_skew"]; ok != tt.wantSkew {
				t.Errorf("log clock_skew present = %v, want %v: %s", ok, tt.wantSkew, lines[len(lines)-1])
			}
			if tt.wantSkew && line["clock_skew"] != float64(-20*time.Minute) {
				t.Errorf("log clock_skew = %v, want %v (-20m)", line["clock_skew"], float64(-20*time.Minute))
			}
			secrets := []string{logSecret, "wrong-secret", logBlockToken, logPageToken}
			for _, r := range tt.reqs {
				if a := r.Header.Get("Authorization"); a != "" {
					_, sig, _ := strings.Cut(a, "Signature=")
					secrets = append(secrets, sig)
				}
			}
			for _, s := range secrets {
				if strings.Contains(logs.String(), s) {
					t.Errorf("log holds the secret %q:\n%s", s, logs.String())
				}
			}
		})
	}
}

// TestAccessLogOff checks that with the access log off (-access-log=false)
// nothing is written at the default level for a client error, and that a
// server failure keeps its Error line with the cause.
func TestAccessLogOff(t *testing.T) {
	var logs bytes.Buffer
	svc := &fakeService{}
	h := newHandler(t, svc, func(o *api.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		o.AccessLogLevel = slog.LevelDebug
	})
	serve(t, h, httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil))
	serve(t, h, httptest.NewRequest("GET", "/nothing-here", nil))
	if logs.Len() != 0 {
		t.Errorf("access log off, yet logged at info:\n%s", logs.String())
	}
	svc.errAll(errBoom)
	serve(t, h, httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil))
	if s := logs.String(); !strings.Contains(s, `"level":"ERROR"`) || !strings.Contains(s, errBoom.Error()) ||
		strings.Contains(s, `"msg":"request"`) {
		t.Errorf("a 500 with the access log off: want its Error line with the cause only, got:\n%s", s)
	}
}

// TestClientErrorsNotAtError checks that client errors, among them a
// flood of refused signatures, never make an Error line: one Info access
// line each is enough.
func TestClientErrorsNotAtError(t *testing.T) {
	var logs bytes.Buffer
	h := newHandler(t, &fakeService{}, func(o *api.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		o.Auth = sigv4Auth{&sigv4.Verifier{Keys: logKeys{}}}
	})
	for range 50 {
		serve(t, h, httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil))
		r := httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil)
		if err := sigv4.Sign(r, logKeyID, "wrong", "us-east-1", "ebs", "", time.Now()); err != nil {
			t.Fatal(err)
		}
		serve(t, h, r)
	}
	if logs.Len() != 0 {
		t.Errorf("client errors logged at warn or above:\n%s", logs.String())
	}
}

// BenchmarkPutSnapshotBlockLogged is BenchmarkPutSnapshotBlock with the
// access log on, as ebsd runs by default: the cost of one JSON line per
// block (written to io.Discard, so without the write itself).
func BenchmarkPutSnapshotBlockLogged(b *testing.B) {
	block := bytes.Repeat([]byte{1}, ebs.BlockSize)
	svc := &drainService{buf: make([]byte, ebs.BlockSize), out: snapshot.PutBlockOutput{Checksum: ebs.Sum(block).String(), ChecksumAlgorithm: "SHA256"}}
	h := newHandler(b, svc, func(o *api.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	})
	r := httptest.NewRequest("PUT", "/snapshots/snap-0e3be26c9ccc164eb/blocks/1000", nil)
	r.Header.Set("X-Amz-Data-Length", "524288")
	r.Header.Set("X-Amz-Checksum", svc.out.Checksum)
	r.Header.Set("X-Amz-Checksum-Algorithm", "SHA256")
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	r.ContentLength = ebs.BlockSize
	body := bytes.NewReader(block)
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(ebs.BlockSize)
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(block)
		r.Body = io.NopCloser(body)
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusCreated {
			b.Fatalf("status %d", w.status)
		}
	}
}
