package api_test

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/throttle"
)

// oneAtATime returns a limiter on a frozen clock where op's quota in scope
// admits one request and then nothing.
func oneAtATime(tb testing.TB, op throttle.Op, scope throttle.Scope) *throttle.Limiter {
	tb.Helper()
	var q throttle.Quotas
	if err := q.Set(op, scope, throttle.Limit{Rate: throttle.MinRate, Burst: 1}); err != nil {
		tb.Fatal(err)
	}
	return throttle.New(q, func() time.Time { return testTime })
}

// asAccount authenticates each request as the account in its
// X-Test-Account header.
var asAccount = authFunc(func(r *http.Request) (api.Caller, error) {
	return api.Caller{AccountID: r.Header.Get("X-Test-Account")}, nil
})

// TestThrottle checks each operation's quotas through the handler: what
// is counted together, and the exact AWS error of each scope.
func TestThrottle(t *testing.T) {
	const (
		ok       = 0
		snapshot = 1 // RequestThrottledException, RESOURCE_LEVEL_THROTTLE
		account  = 2 // ThrottlingException
	)
	type req struct {
		method, target, account string
		want                    int
	}
	put := func(snap, acct string, want int) req {
		return req{"PUT", "/snapshots/" + snap + "/blocks/0", acct, want}
	}
	get := func(snap, acct string, want int) req {
		return req{"GET", "/snapshots/" + snap + "/blocks/7?blockToken=t", acct, want}
	}
	tests := []struct {
		name  string
		op    throttle.Op
		scope throttle.Scope
		reqs  []req
	}{
		{"PutPerSnapshot", throttle.PutSnapshotBlock, throttle.Snapshot, []req{
			put("snap-1", "a", ok), put("snap-1", "a", snapshot), put("snap-2", "a", ok), put("snap-1", "b", ok)}},
		{"PutPerAccount", throttle.PutSnapshotBlock, throttle.Account, []req{
			put("snap-1", "a", ok), put("snap-2", "a", account), put("snap-1", "b", ok)}},
		{"GetPerSnapshot", throttle.GetSnapshotBlock, throttle.Snapshot, []req{
			get("snap-1", "a", ok), get("snap-1", "a", snapshot), get("snap-2", "a", ok), put("snap-1", "a", ok)}},
		{"GetPerAccount", throttle.GetSnapshotBlock, throttle.Account, []req{
			get("snap-1", "a", ok), get("snap-2", "a", account), get("snap-2", "b", ok)}},
		{"StartSnapshot", throttle.StartSnapshot, throttle.Account, []req{
			{"POST", "/snapshots", "a", ok}, {"POST", "/snapshots", "a", account}, {"POST", "/snapshots", "b", ok}}},
		{"CompleteSnapshot", throttle.CompleteSnapshot, throttle.Account, []req{
			{"POST", "/snapshots/completion/snap-1", "a", ok}, {"POST", "/snapshots/completion/snap-2", "a", account}}},
		{"ListSnapshotBlocks", throttle.ListSnapshotBlocks, throttle.Account, []req{
			{"GET", "/snapshots/snap-1/blocks", "a", ok}, {"GET", "/snapshots/snap-2/blocks", "a", account},
			{"GET", "/snapshots/snap-1/changedblocks", "a", ok}}},
		{"ListChangedBlocks", throttle.ListChangedBlocks, throttle.Account, []req{
			{"GET", "/snapshots/snap-2/changedblocks?firstSnapshotId=snap-1", "a", ok},
			{"GET", "/snapshots/snap-3/changedblocks", "a", account}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{}
			h := newHandler(t, svc, func(o *api.Options) {
				o.Auth = asAccount
				o.Throttle = oneAtATime(t, tc.op, tc.scope)
			})
			block := bytes.Repeat([]byte{1}, ebs.BlockSize)
			for i, rq := range tc.reqs {
				var body []byte
				switch rq.method {
				case "PUT":
					body = block
				case "POST":
					body = []byte(`{"VolumeSize": 1}`)
				}
				r := httptest.NewRequest(rq.method, rq.target, bytes.NewReader(body))
				r.Header.Set("X-Test-Account", rq.account)
				calls := svc.calls()
				w := serve(t, h, r)
				switch rq.want {
				case ok:
					if w.Code >= 300 {
						t.Fatalf("request %d (%s %s as %s): status %d %s, want success", i, rq.method, rq.target, rq.account, w.Code, w.Body)
					}
					continue
				case snapshot:
					checkError(t, w, 400, "RequestThrottledException")
					want := map[string]string{"Message": "The number of API requests has exceeded the maximum allowed API request throttling limit for the snapshot.", "Reason": "RESOURCE_LEVEL_THROTTLE"}
					if got := decodeBody(t, w.Body.Bytes()); !maps.Equal(got, want) {
						t.Errorf("request %d: body %v, want %v", i, got, want)
					}
				case account:
					checkError(t, w, 400, "ThrottlingException")
					want := map[string]string{"message": "Rate exceeded", "Message": "Rate exceeded"}
					if got := decodeBody(t, w.Body.Bytes()); !maps.Equal(got, want) {
						t.Errorf("request %d: body %v, want %v", i, got, want)
					}
				}
				if svc.calls() != calls {
					t.Errorf("request %d: the service was called for a throttled request", i)
				}
			}
		})
	}
}

// TestThrottleBeforeBody: a throttled PutSnapshotBlock is refused without
// reading a byte of its body.
func TestThrottleBeforeBody(t *testing.T) {
	svc := &fakeService{}
	h := newHandler(t, svc, func(o *api.Options) { o.Throttle = oneAtATime(t, throttle.PutSnapshotBlock, throttle.Snapshot) })
	block := string(bytes.Repeat([]byte{1}, ebs.BlockSize))
	for i, want := range []int{201, 400} {
		body := &trackingReader{r: strings.NewReader(block)}
		r := httptest.NewRequest("PUT", "/snapshots/snap-1/blocks/0", nil)
		r.Body, r.ContentLength = body, ebs.BlockSize
		w := serve(t, h, r)
		if w.Code != want {
			t.Fatalf("put %d: status %d, want %d", i, w.Code, want)
		}
		if want == 400 && body.n != 0 {
			t.Errorf("the throttled put read %d bytes of its body", body.n)
		}
	}
}

// TestThrottleAfterAuthentication: requests that fail authentication use
// up no quota (they have no account to charge), and throttling answers
// only authenticated callers.
func TestThrottleAfterAuthentication(t *testing.T) {
	svc := &fakeService{}
	h := newHandler(t, svc, func(o *api.Options) {
		o.Auth = authFunc(func(r *http.Request) (api.Caller, error) {
			if r.Header.Get("Authorization") == "" {
				return api.Caller{}, ebs.E("", ebs.KindMissingAuth, "", "Missing Authentication Token")
			}
			return api.Caller{AccountID: testAccount}, nil
		})
		o.Throttle = oneAtATime(t, throttle.ListSnapshotBlocks, throttle.Account)
	})
	for range 3 {
		checkError(t, serve(t, h, httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil)), 403, "MissingAuthenticationTokenException")
	}
	for i, want := range []int{200, 400} {
		r := httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil)
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 ...")
		if w := serve(t, h, r); w.Code != want {
			t.Fatalf("authenticated request %d: status %d, want %d", i, w.Code, want)
		}
	}
}

func TestThrottleMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHandler(t, &fakeService{}, func(o *api.Options) {
		o.Registerer = reg
		o.Throttle = oneAtATime(t, throttle.GetSnapshotBlock, throttle.Snapshot)
	})
	for range 3 {
		serve(t, h, httptest.NewRequest("GET", "/snapshots/snap-1/blocks/0?blockToken=t", nil))
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ebsd_throttled_requests_total", map[string]string{"operation": "GetSnapshotBlock", "scope": "snapshot"}, 2},
		{"ebsd_throttled_requests_total", map[string]string{"operation": "GetSnapshotBlock", "scope": "account"}, 0},
		{"ebsd_requests_total", map[string]string{"operation": "GetSnapshotBlock", "outcome": "RequestThrottledException"}, 2},
		{"ebsd_requests_total", map[string]string{"operation": "GetSnapshotBlock", "outcome": "success"}, 1},
	} {
		if got, _ := metricValue(families, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}
