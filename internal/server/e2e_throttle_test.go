package server_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/throttle"
)

// startThrottled starts an in-process ebsd that enforces q, and returns
// its endpoint.
func startThrottled(t *testing.T, q throttle.Quotas) string {
	t.Helper()
	return ebstest.Start(t, ebstest.Options{Throttle: &q}).URL
}

// setQuota sets one limit of q, failing the test on a bad one.
func setQuota(t *testing.T, q *throttle.Quotas, op throttle.Op, s throttle.Scope, l throttle.Limit) {
	t.Helper()
	if err := q.Set(op, s, l); err != nil {
		t.Fatal(err)
	}
}

// retryingClient is an EBS client as a user would make one: the SDK's
// default HTTP client and its standard retryer, here allowed 10 attempts
// rather than 3, because the test keeps every block throttled on purpose
// (see TestThrottleGoSDKRetries).
func retryingClient(endpoint string, cred ebscreds.Credential) *ebs.Client {
	return ebs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(cred.AccessKeyID, cred.SecretAccessKey, ""),
	}, func(o *ebs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 10
	})
}

// throttledCount scrapes ebsd_throttled_requests_total for op and scope
// from the server's /metrics.
func throttledCount(t *testing.T, endpoint, op, scope string) int {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := fmt.Sprintf(`ebsd_throttled_requests_total{operation=%q,scope=%q} `, op, scope)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("metric %s%s: %v", want, v, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /metrics", want)
	return 0
}

// TestThrottleGoSDKRetries uploads blocks with 4 workers through a
// per-snapshot PutSnapshotBlock quota of 5/s with a burst of 5, well below
// what even a loaded machine serves, so puts are throttled; each throttled
// worker sleeps the retryer's backoff (up to 2 s, then 4 s) while the
// bucket refills for the others. It then lists through a per-account
// ListSnapshotBlocks quota of 2/s. The Go SDK's standard retryer sees
// RequestThrottledException and ThrottlingException, backs off and
// retries, and every block lands: CompleteSnapshot checks the count and
// the LINEAR checksum of all of them.
func TestThrottleGoSDKRetries(t *testing.T) {
	q := throttle.AWS()
	setQuota(t, &q, throttle.PutSnapshotBlock, throttle.Snapshot, throttle.Limit{Rate: 5, Burst: 5})
	setQuota(t, &q, throttle.ListSnapshotBlocks, throttle.Account, throttle.Limit{Rate: 2, Burst: 1})
	url := startThrottled(t, q)
	c := retryingClient(url, ebstest.Alice)

	const n, workers = 20, 4
	id := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	blocks := make([][]byte, n)
	for i := range blocks {
		blocks[i] = bytes.Repeat([]byte{byte(i + 1)}, ebstest.BlockSize)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int32, n)
	for i := range int32(n) {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := putBlock(c, id, i, blocks[i]); err != nil {
					errs <- fmt.Errorf("block %d: %w", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	took := time.Since(start)
	puts := throttledCount(t, url, "PutSnapshotBlock", "snapshot")
	if puts == 0 {
		t.Fatal("no PutSnapshotBlock was throttled: the test proves nothing")
	}
	// 5 at once, then 5/s: the quota held.
	if minimum := time.Duration(n-5) * time.Second / 5; took < minimum {
		t.Errorf("%d blocks took %v, less than the quota allows (%v)", n, took, minimum)
	}
	t.Logf("%d blocks in %v; %d puts throttled and retried", n, took, puts)

	if st := complete(t, c, id, n, ebstest.Linear(blocks...)); st != types.StatusCompleted {
		t.Fatalf("status %s after completion, want completed", st)
	}
	// 2/s with a burst of 1: the second listing, right after the first,
	// is throttled and retried.
	var toks map[int32]string
	for range 2 {
		if toks = listAll(t, c, id, 1000); len(toks) != n {
			t.Fatalf("listed %d blocks, want %d", len(toks), n)
		}
	}
	if lists := throttledCount(t, url, "ListSnapshotBlocks", "account"); lists == 0 {
		t.Error("no ListSnapshotBlocks was throttled")
	}
	if got := getBlock(t, c, id, n-1, toks[n-1]); !bytes.Equal(got, blocks[n-1]) {
		t.Fatalf("block %d differs after the throttled upload", n-1)
	}
}

// TestThrottleErrors checks each quota's error as the SDK decodes it, with
// retries off: status, type, Reason, and that the SDK's standard retryer
// classes it as throttling. It also checks what each quota counts.
func TestThrottleErrors(t *testing.T) {
	// A burst of one and a rate of one per 1000 s: the second request is
	// refused, however slow the machine.
	once := throttle.Limit{Rate: throttle.MinRate, Burst: 1}
	var q throttle.Quotas
	setQuota(t, &q, throttle.PutSnapshotBlock, throttle.Snapshot, once)
	setQuota(t, &q, throttle.GetSnapshotBlock, throttle.Account, once)
	setQuota(t, &q, throttle.ListChangedBlocks, throttle.Account, once)
	url := startThrottled(t, q)
	alice := ebstest.NewClient(url, ebstest.Alice, &http.Client{Timeout: time.Minute})
	bob := ebstest.NewClient(url, ebstest.Bob, &http.Client{Timeout: time.Minute})

	a1 := startSnapshot(t, alice, &ebs.StartSnapshotInput{})
	a2 := startSnapshot(t, alice, &ebs.StartSnapshotInput{})
	b1 := startSnapshot(t, bob, &ebs.StartSnapshotInput{})
	block := ebstest.Payload("t")
	get := func(c *ebs.Client, id string) error {
		_, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: aws.Int32(0), BlockToken: aws.String("AAAA")})
		return err
	}
	changed := func(c *ebs.Client, id string) error {
		_, err := c.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{SecondSnapshotId: &id})
		return err
	}
	const (
		snapshotMsg = "The number of API requests has exceeded the maximum allowed API request throttling limit for the snapshot."
		accountMsg  = "Rate exceeded"
	)
	tests := []struct {
		name   string
		call   func() error
		code   string // "" = not throttled
		reason string
		msg    string
	}{
		{"put a1", func() error { return putBlock(alice, a1, 0, block) }, "", "", ""},
		{"put a1 again", func() error { return putBlock(alice, a1, 1, block) }, "RequestThrottledException", "RESOURCE_LEVEL_THROTTLE", snapshotMsg},
		{"put a2", func() error { return putBlock(alice, a2, 0, block) }, "", "", ""},
		{"put b1", func() error { return putBlock(bob, b1, 0, block) }, "", "", ""},
		// Throttling comes before the service: the first get fails on its
		// token, the second never gets that far.
		{"get a1", func() error { return get(alice, a1) }, "", "", ""},
		{"get a2", func() error { return get(alice, a2) }, "ThrottlingException", "", accountMsg},
		{"get b1", func() error { return get(bob, b1) }, "", "", ""},
		{"changed a1", func() error { return changed(alice, a1) }, "", "", ""},
		{"changed a2", func() error { return changed(alice, a2) }, "ThrottlingException", "", accountMsg},
	}
	throttles := retry.IsErrorThrottles(retry.DefaultThrottles)
	for _, tc := range tests {
		err := tc.call()
		if tc.code == "" {
			if got := asAPIError(t, orNotThrottled(err)); strings.Contains(got.Code, "Throttl") {
				t.Errorf("%s: throttled: %v", tc.name, err)
			}
			continue
		}
		checkError(t, err, 400, tc.code, "", tc.msg)
		var rt *types.RequestThrottledException
		if errors.As(err, &rt) && string(rt.Reason) != tc.reason {
			t.Errorf("%s: Reason %q, want %q", tc.name, rt.Reason, tc.reason)
		} else if rt == nil && tc.reason != "" {
			t.Errorf("%s: %T is not a *types.RequestThrottledException", tc.name, err)
		}
		if throttles.IsErrorThrottle(err) != aws.TrueTernary {
			t.Errorf("%s: the SDK's standard retryer does not class %v as throttling", tc.name, err)
		}
	}
}

// orNotThrottled turns success into an error asAPIError can read.
func orNotThrottled(err error) error {
	if err == nil {
		return &types.ValidationException{Message: aws.String("success")}
	}
	return err
}
