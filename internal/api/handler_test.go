package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

func TestNewRequiresServiceAndAuth(t *testing.T) {
	if _, err := api.New(api.Options{Auth: acceptAll{}}); err == nil {
		t.Error("New without a Service succeeded")
	}
	if _, err := api.New(api.Options{Service: &fakeService{}}); err == nil {
		t.Error("New without an Authenticator succeeded")
	}
}

// TestRouting checks that each operation's method and path reach exactly
// that operation, and everything else is a JSON UnknownOperationException.
func TestRouting(t *testing.T) {
	tests := []struct {
		method, target string
		wantStatus     int
		wantInput      string // the %T of the service input, "" for unknown
	}{
		{"POST", "/snapshots", 201, "snapshot.StartInput"},
		{"PUT", "/snapshots/snap-1/blocks/7", 201, "snapshot.PutBlockInput"},
		{"POST", "/snapshots/completion/snap-1", 202, "snapshot.CompleteInput"},
		{"GET", "/snapshots/snap-1/blocks/7?blockToken=t", 200, "snapshot.GetBlockInput"},
		{"GET", "/snapshots/snap-1/blocks", 200, "snapshot.ListBlocksInput"},
		{"GET", "/snapshots/snap-2/changedblocks?firstSnapshotId=snap-1", 200, "snapshot.ListChangedInput"},
		// A snapshot ID that looks like a keyword is still a snapshot ID.
		{"GET", "/snapshots/completion/blocks", 200, "snapshot.ListBlocksInput"},

		{"GET", "/snapshots", 404, ""},
		{"PUT", "/snapshots", 404, ""},
		{"DELETE", "/snapshots/snap-1/blocks/7", 404, ""},
		{"POST", "/snapshots/snap-1/blocks/7", 404, ""},
		{"HEAD", "/snapshots/snap-1/blocks/7", 404, ""},
		{"OPTIONS", "/snapshots", 404, ""},
		{"PATCH", "/snapshots/completion/snap-1", 404, ""},
		{"GET", "/snapshots/completion/snap-1", 404, ""},
		{"PUT", "/snapshots/snap-1/changedblocks", 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/snapshots/snap-1/blocks/", 404, ""},
		{"GET", "/snapshots//blocks", 404, ""},
		{"GET", "/snapshots/snap-1/../snap-2/blocks", 404, ""},
		{"GET", "/snapshots/snap-1/blocks/7/extra", 404, ""},
		{"POST", "/snapshots/", 404, ""},
		{"GET", "/favicon.ico", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			svc := &fakeService{}
			w := serve(t, newHandler(t, svc), httptest.NewRequest(tc.method, tc.target, nil))
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", w.Code, tc.wantStatus, w.Body)
			}
			if tc.wantInput == "" {
				checkError(t, w, 404, "UnknownOperationException")
				if svc.calls() != 0 {
					t.Errorf("an unknown operation reached the service")
				}
				body := decodeBody(t, w.Body.Bytes())
				if body["message"] == "" || body["message"] != body["Message"] {
					t.Errorf("body = %v, want equal non-empty message and Message", body)
				}
				return
			}
			if id := w.Header().Get("X-Amzn-RequestId"); !isUUIDv4(id) {
				t.Errorf("x-amzn-RequestId = %q, want a UUIDv4", id)
			}
			svc.mu.Lock()
			defer svc.mu.Unlock()
			if len(svc.inputs) != 1 {
				t.Fatalf("service got %d calls, want 1", len(svc.inputs))
			}
			if got := typeName(svc.inputs[0]); got != tc.wantInput {
				t.Errorf("service got a %s, want a %s", got, tc.wantInput)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case snapshot.StartInput:
		return "snapshot.StartInput"
	case snapshot.PutBlockInput:
		return "snapshot.PutBlockInput"
	case snapshot.CompleteInput:
		return "snapshot.CompleteInput"
	case snapshot.GetBlockInput:
		return "snapshot.GetBlockInput"
	case snapshot.ListBlocksInput:
		return "snapshot.ListBlocksInput"
	case snapshot.ListChangedInput:
		return "snapshot.ListChangedInput"
	}
	return "?"
}

func TestRequestIDsAreUnique(t *testing.T) {
	h := newHandler(t, &fakeService{})
	seen := map[string]bool{}
	for range 50 {
		w := serve(t, h, httptest.NewRequest("GET", "/nope", nil))
		id := w.Header().Get("X-Amzn-RequestId")
		if seen[id] {
			t.Fatalf("request ID %s repeated", id)
		}
		seen[id] = true
	}
}

func TestDateHeader(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 30, 45, 0, time.FixedZone("X", 3600))
	h := newHandler(t, &fakeService{}, func(o *api.Options) { o.Now = func() time.Time { return now } })
	for _, target := range []string{"/snapshots/snap-1/blocks", "/nope"} {
		w := serve(t, h, httptest.NewRequest("GET", target, nil))
		if got, want := w.Header().Get("Date"), "Sat, 01 Aug 2026 11:30:45 GMT"; got != want {
			t.Errorf("%s: Date = %q, want %q", target, got, want)
		}
	}
}

// TestAuthenticateFirst checks that an authentication failure is written
// like any other error, and that it comes before the operation parses
// anything (here a body that is not JSON).
func TestAuthenticateFirst(t *testing.T) {
	svc := &fakeService{}
	h := newHandler(t, svc, func(o *api.Options) {
		o.Auth = authFunc(func(*http.Request) (api.Caller, error) {
			return api.Caller{}, ebs.E("", ebs.KindMissingAuth, "", "Missing Authentication Token")
		})
	})
	w := serve(t, h, httptest.NewRequest("POST", "/snapshots", strings.NewReader("{not json")))
	checkError(t, w, 403, "MissingAuthenticationTokenException")
	if svc.calls() != 0 {
		t.Error("an unauthenticated request reached the service")
	}
}

// TestPassesAccount checks that the authenticated account reaches the
// service.
func TestPassesAccount(t *testing.T) {
	svc := &fakeService{}
	h := newHandler(t, svc, func(o *api.Options) {
		o.Auth = authFunc(func(*http.Request) (api.Caller, error) { return api.Caller{AccountID: "000000000007"}, nil })
	})
	serve(t, h, httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil))
	if got := lastInput[snapshot.ListBlocksInput](t, svc).AccountID; got != "000000000007" {
		t.Errorf("AccountID = %q", got)
	}
}

// TestRawParameters checks that path, header and query members reach the
// service as the raw text the request carried, nil when absent, with
// header names matched case-insensitively.
func TestRawParameters(t *testing.T) {
	t.Run("Put", func(t *testing.T) {
		svc := &fakeService{}
		r := httptest.NewRequest("PUT", "/snapshots/snap-%41/blocks/-1", strings.NewReader("abc"))
		r.Header["x-amz-Data-Length"] = []string{"524288"} // not canonical: as if built by hand
		r.Header.Set("X-AMZ-CHECKSUM", "c2hh")
		r.Header.Set("x-amz-checksum-algorithm", "SHA1")
		serve(t, newHandler(t, svc), r)
		in := lastInput[snapshot.PutBlockInput](t, svc)
		checkEqual(t, "SnapshotID", in.SnapshotID, "snap-A")
		checkEqual(t, "BlockIndex", in.BlockIndex, "-1")
		checkPtr(t, "DataLength", in.DataLength, ptr("524288"))
		checkPtr(t, "Checksum", in.Checksum, ptr("c2hh"))
		checkPtr(t, "ChecksumAlgorithm", in.ChecksumAlgorithm, ptr("SHA1"))
		checkPtr(t, "Progress", in.Progress, nil)
		if in.PayloadHash != nil {
			t.Errorf("PayloadHash = %x, want nil without X-Amz-Content-Sha256", *in.PayloadHash)
		}
	})
	t.Run("PutRepeatedHeader", func(t *testing.T) {
		svc := &fakeService{}
		r := httptest.NewRequest("PUT", "/snapshots/snap-1/blocks/1", nil)
		r.Header.Add("X-Amz-Progress", "10")
		r.Header.Add("x-amz-progress", "20")
		serve(t, newHandler(t, svc), r)
		checkPtr(t, "Progress", lastInput[snapshot.PutBlockInput](t, svc).Progress, ptr("10,20"))
	})
	t.Run("Complete", func(t *testing.T) {
		svc := &fakeService{}
		r := httptest.NewRequest("POST", "/snapshots/completion/snap-1", nil)
		r.Header.Set("x-amz-ChangedBlocksCount", "-3")
		r.Header.Set("x-amz-Checksum", "")
		r.Header.Set("x-amz-Checksum-Aggregation-Method", "TREE")
		serve(t, newHandler(t, svc), r)
		in := lastInput[snapshot.CompleteInput](t, svc)
		checkEqual(t, "SnapshotID", in.SnapshotID, "snap-1")
		checkPtr(t, "ChangedBlocksCount", in.ChangedBlocksCount, ptr("-3"))
		checkPtr(t, "Checksum", in.Checksum, ptr(""))
		checkPtr(t, "ChecksumAlgorithm", in.ChecksumAlgorithm, nil)
		checkPtr(t, "ChecksumAggregationMethod", in.ChecksumAggregationMethod, ptr("TREE"))
	})
	t.Run("Get", func(t *testing.T) {
		svc := &fakeService{}
		serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-1/blocks/x?blockToken=AAUB%2B%2FAc%3D&blocktoken=ignored", nil))
		in := lastInput[snapshot.GetBlockInput](t, svc)
		checkEqual(t, "BlockIndex", in.BlockIndex, "x")
		checkPtr(t, "BlockToken", in.BlockToken, ptr("AAUB+/Ac="))
	})
	t.Run("GetEmptyToken", func(t *testing.T) {
		svc := &fakeService{}
		serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-1/blocks/1?blockToken=", nil))
		checkPtr(t, "BlockToken", lastInput[snapshot.GetBlockInput](t, svc).BlockToken, ptr(""))
	})
	t.Run("List", func(t *testing.T) {
		svc := &fakeService{}
		serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-1/blocks?pageToken=a%2Bb%2F%3D&maxResults=50&startingBlockIndex=x&pageToken=second", nil))
		in := lastInput[snapshot.ListBlocksInput](t, svc)
		checkPtr(t, "NextToken", in.NextToken, ptr("a+b/="))
		checkPtr(t, "MaxResults", in.MaxResults, ptr("50"))
		checkPtr(t, "StartingBlockIndex", in.StartingBlockIndex, ptr("x"))
	})
	t.Run("ListAbsent", func(t *testing.T) {
		svc := &fakeService{}
		serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-1/blocks?MaxResults=5", nil))
		in := lastInput[snapshot.ListBlocksInput](t, svc)
		checkPtr(t, "NextToken", in.NextToken, nil)
		checkPtr(t, "MaxResults", in.MaxResults, nil) // query keys are exact
		checkPtr(t, "StartingBlockIndex", in.StartingBlockIndex, nil)
	})
	t.Run("Changed", func(t *testing.T) {
		svc := &fakeService{}
		serve(t, newHandler(t, svc), httptest.NewRequest("GET", "/snapshots/snap-2/changedblocks?firstSnapshotId=snap-1&pageToken=p&maxResults=100&startingBlockIndex=0", nil))
		in := lastInput[snapshot.ListChangedInput](t, svc)
		checkEqual(t, "SecondSnapshotID", in.SecondSnapshotID, "snap-2")
		checkPtr(t, "FirstSnapshotID", in.FirstSnapshotID, ptr("snap-1"))
		checkPtr(t, "NextToken", in.NextToken, ptr("p"))
		checkPtr(t, "MaxResults", in.MaxResults, ptr("100"))
		checkPtr(t, "StartingBlockIndex", in.StartingBlockIndex, ptr("0"))
	})
}

func TestMalformedQuery(t *testing.T) {
	for _, target := range []string{
		"/snapshots/snap-1/blocks?pageToken=%zz",
		"/snapshots/snap-1/blocks/1?blockToken=a;b",
		"/snapshots/snap-2/changedblocks?firstSnapshotId=%",
	} {
		svc := &fakeService{}
		w := serve(t, newHandler(t, svc), httptest.NewRequest("GET", target, nil))
		checkError(t, w, 400, "SerializationException")
		if svc.calls() != 0 {
			t.Errorf("%s: a malformed query reached the service", target)
		}
	}
}

// TestPanicIsInternalError checks that a panicking service answers 500
// InternalServerException instead of dropping the connection.
func TestPanicIsInternalError(t *testing.T) {
	svc := &fakeService{complete: func(context.Context, snapshot.CompleteInput) (*snapshot.CompleteOutput, error) {
		return nil, nil // a buggy service: the handler dereferences nil
	}}
	w := serve(t, newHandler(t, svc), httptest.NewRequest("POST", "/snapshots/completion/snap-1", nil))
	checkError(t, w, 500, "InternalServerException")
}

// checkSuccess checks the headers every success response carries.
func checkSuccess(tb testing.TB, w *httptest.ResponseRecorder, wantStatus int, wantContentType string) {
	tb.Helper()
	if w.Code != wantStatus {
		tb.Fatalf("status = %d, want %d (body %s)", w.Code, wantStatus, w.Body)
	}
	if got := w.Header().Get("Content-Type"); got != wantContentType {
		tb.Errorf("Content-Type = %q, want %q", got, wantContentType)
	}
	if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
		tb.Errorf("Content-Length = %q, want %q", got, want)
	}
	if id := w.Header().Get("X-Amzn-RequestId"); !isUUIDv4(id) {
		tb.Errorf("x-amzn-RequestId = %q, want a UUIDv4", id)
	}
	if w.Header().Get("Date") == "" {
		tb.Error("no Date header")
	}
	if w.Header().Get("X-Amzn-ErrorType") != "" || w.Header().Get("Content-Encoding") != "" {
		tb.Errorf("unexpected headers %v", w.Header())
	}
}

// formatPtr formats a pointer member: nil, or the quoted value.
func formatPtr(v any) string {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("%q", fmt.Sprint(rv.Elem().Interface()))
}

func checkEqual(tb testing.TB, name, got, want string) {
	tb.Helper()
	if got != want {
		tb.Errorf("%s = %q, want %q", name, got, want)
	}
}

func checkPtr(tb testing.TB, name string, got, want *string) {
	tb.Helper()
	if formatPtr(got) != formatPtr(want) {
		tb.Errorf("%s = %s, want %s", name, formatPtr(got), formatPtr(want))
	}
}

// TestAccessLog checks the access log line: info for every request (the
// default), debug only when the access log is off.
func TestAccessLog(t *testing.T) {
	var logs bytes.Buffer
	svc := &fakeService{}
	h := newHandler(t, svc, func(o *api.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	w := serve(t, h, httptest.NewRequest("PUT", "/snapshots/snap-1/blocks/0", strings.NewReader("12345")))
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	want := map[string]any{
		"level": "INFO", "msg": "request", "request_id": w.Header().Get("X-Amzn-RequestId"),
		"operation": "PutSnapshotBlock", "status": 201.0, "error_type": "", "account": testAccount,
		"received_bytes": 5.0, "sent_bytes": 2.0,
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration"]; !ok {
		t.Error("log has no duration")
	}

	logs.Reset()
	h = newHandler(t, svc, func(o *api.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		o.AccessLogLevel = slog.LevelDebug
	})
	serve(t, h, httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil))
	if logs.Len() != 0 {
		t.Errorf("access log off, yet a success was logged at info: %s", logs.String())
	}
}
