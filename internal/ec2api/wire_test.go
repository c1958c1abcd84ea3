package ec2api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ec2api"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/throttle"
)

const (
	ec2Prefix = "Action=DescribeRegions&Version=2016-11-15"
	stsBody   = "Action=GetCallerIdentity&Version=2011-06-15"
	// describeBody reaches the service when it is accepted.
	describeBody = "Action=DescribeSnapshots&Version=2016-11-15"
)

// TestRouting: an action is served only when Version, the credential
// scope's service and Action agree (docs/ec2-api.md §2.4); each refusal is
// answered in the words of the API the request spoke.
func TestRouting(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	tests := []struct {
		name   string
		rq     rawRequest
		status int
		code   string
		msg    string
		stsDoc bool
	}{
		{"ec2", rawRequest{body: ec2Prefix}, 200, "", "", false},
		{"sts", rawRequest{body: stsBody, service: "sts"}, 200, "", "", true},
		{"sts version, ec2 scope", rawRequest{body: stsBody}, 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'", true},
		{"ec2 version, sts scope", rawRequest{body: ec2Prefix, service: "sts"}, 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'ec2'", false},
		{"ebs scope", rawRequest{body: ec2Prefix, service: "ebs"}, 403, "SignatureDoesNotMatch", "scoped to correct service: 'ec2'", false},
		{"sts action on ec2", rawRequest{body: "Action=GetCallerIdentity&Version=2016-11-15"}, 400, "InvalidAction", "GetCallerIdentity", false},
		{"ec2 action on sts", rawRequest{body: "Action=DescribeSnapshots&Version=2011-06-15", service: "sts"}, 400, "InvalidAction", "DescribeSnapshots", true},
		{"unknown action", rawRequest{body: "Action=RunInstances&Version=2016-11-15"}, 400, "InvalidAction", "The action RunInstances is not valid for this web service.", false},
		{"no action", rawRequest{body: "Version=2016-11-15"}, 400, "MissingAction", "Action", false},
		{"no version", rawRequest{body: "Action=DescribeRegions"}, 400, "MissingParameter", "Version", false},
		{"no version, sts scope", rawRequest{body: "Action=GetCallerIdentity", service: "sts"}, 400, "MissingParameter", "Version", true},
		{"other version", rawRequest{body: "Action=DescribeRegions&Version=2014-10-01"}, 400, "NoSuchVersion", "2014-10-01", false},
		{"unknown parameter", rawRequest{body: ec2Prefix + "&Foo=1"}, 400, "UnknownParameter", "The parameter Foo is not recognized", false},
		{"parameter of another action", rawRequest{body: ec2Prefix + "&SnapshotId.1=snap-1"}, 400, "UnknownParameter", "SnapshotId.1", false},
		{"sts parameter", rawRequest{body: stsBody + "&DryRun=true", service: "sts"}, 400, "UnknownParameter", "DryRun", true},
		{"repeated key", rawRequest{body: ec2Prefix + "&RegionName.1=a&RegionName.1=a"}, 400, "InvalidParameterValue", "RegionName.1", false},
		{"bad escape", rawRequest{body: ec2Prefix + "&RegionName.1=%zz"}, 400, "MalformedQueryString", "", false},
		{"bad index", rawRequest{body: ec2Prefix + "&RegionName.0=us-east-1"}, 400, "InvalidParameterValue", "RegionName.0", false},
		{"bad boolean", rawRequest{body: ec2Prefix + "&DryRun=yes"}, 400, "InvalidParameterValue", "DryRun", false},
		{"dry run", rawRequest{body: ec2Prefix + "&DryRun=true"}, 412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", false},
		{"dry run False", rawRequest{body: ec2Prefix + "&DryRun=False"}, 200, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.raw(t, tt.rq)
			a.expect(t, tt.status, tt.code, tt.msg)
			if isSTS := strings.Contains(a.body, "sts.amazonaws.com"); isSTS != tt.stsDoc {
				t.Fatalf("answer in the words of STS: %v, want %v\n%s", isSTS, tt.stsDoc, a.body)
			}
			if tt.stsDoc && tt.code != "" && a.errType != "Sender" {
				t.Fatalf("STS error Type %q", a.errType)
			}
		})
	}
}

// TestAuthFailures: the codes each API uses for each refusal
// (docs/ec2-api.md §4.3), and that a refused request reaches no action.
func TestAuthFailures(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	tests := []struct {
		name   string
		rq     rawRequest
		status int
		code   string
		msg    string
	}{
		{"ec2 unknown key", rawRequest{body: describeBody, key: "AKIAUNKNOWN000000000", secret: "x"}, 401, "AuthFailure", "AWS was not able to validate the provided access credentials"},
		{"sts unknown key", rawRequest{body: stsBody, service: "sts", key: "AKIAUNKNOWN000000000", secret: "x"}, 403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		{"ec2 wrong secret", rawRequest{body: describeBody, key: aliceKey, secret: "wrong"}, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match"},
		{"sts wrong secret", rawRequest{body: stsBody, service: "sts", key: aliceKey, secret: "wrong"}, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match"},
		{"ec2 no auth", rawRequest{body: describeBody, unsigned: true}, 403, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		{"sts no auth", rawRequest{body: stsBody, unsigned: true}, 403, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		{"ec2 malformed auth", rawRequest{body: describeBody, mutate: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x") }}, 400, "IncompleteSignature", ""},
		{"ec2 old date", rawRequest{body: describeBody, mutate: resignAt(time.Now().Add(-20*time.Minute), "ec2")}, 400, "RequestExpired", "Request has expired."},
		{"sts old date", rawRequest{body: stsBody, service: "sts", mutate: resignAt(time.Now().Add(-20*time.Minute), "sts")}, 403, "SignatureDoesNotMatch", "Signature expired"},
		{"body changed after signing", rawRequest{body: describeBody, mutate: replaceBody(describeBody + "&AllRegions=true")}, 403, "SignatureDoesNotMatch", ""},
		{"payload hash of another body", rawRequest{body: describeBody, payload: hexSHA256("Action=DescribeRegions&Version=2016-11-15&X=1")}, 403, "SignatureDoesNotMatch", "x-amz-content-sha256"},
		{"unsigned payload", rawRequest{body: describeBody, payload: "UNSIGNED-PAYLOAD"}, 400, "IncompleteSignature", "must be signed"},
		// An unauthenticated request learns nothing of the form: a bad
		// one is refused for its signature first.
		{"bad form, no auth", rawRequest{body: "A=%zz&Version=2016-11-15", unsigned: true}, 403, "MissingAuthenticationToken", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.raw(t, tt.rq).expect(t, tt.status, tt.code, tt.msg)
		})
	}
	// The JS SDK signs X-Amz-Content-Sha256 with the real hash: served.
	s.raw(t, rawRequest{body: describeBody, payload: hexSHA256(describeBody)}).expect(t, 200, "", "")
	if n := len(s.fake.calls()); n != 1 {
		t.Fatalf("%d calls reached the service, want the 1 accepted", n)
	}
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// resignAt re-signs a request as if at t for service.
func resignAt(at time.Time, service string) func(*http.Request) {
	return func(r *http.Request) {
		key, secret := aliceKey, aliceSecret
		r.Header.Del("X-Amz-Date")
		if err := signAt(r, key, secret, service, at); err != nil {
			panic(err)
		}
	}
}

// replaceBody sends another body than the one signed.
func replaceBody(body string) func(*http.Request) {
	return func(r *http.Request) {
		r.Body = http.NoBody
		r.Body = nopCloser{strings.NewReader(body)}
		r.ContentLength = int64(len(body))
		r.GetBody = nil
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

// TestBodyBounds: the body is bounded in size before the signature is
// checked (a declared length beyond it is refused unread), and in time.
func TestBodyBounds(t *testing.T) {
	s := startServer(t, ec2api.Options{MaxBody: 1024, BodyTimeout: 300 * time.Millisecond})
	big := ec2Prefix + "&AllRegions=true" + strings.Repeat("&Filter.1.Name=x", 100)
	s.raw(t, rawRequest{body: big}).expect(t, 413, "RequestEntityTooLarge", "1024")
	s.raw(t, rawRequest{body: big, unsigned: true}).expect(t, 413, "RequestEntityTooLarge", "1024")
	ok := ec2Prefix + "&AllRegions=true&" + strings.Repeat("x", 1024-len(ec2Prefix)-len("&AllRegions=true&"))
	if len(ok) != 1024 {
		t.Fatal(len(ok))
	}
	// Exactly the bound is read (and refused as a form, not as too large).
	s.raw(t, rawRequest{body: ok}).expect(t, 400, "UnknownParameter", "")

	// A body that stops arriving is cut at the body timeout.
	host := strings.TrimPrefix(s.URL, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = conn.Write([]byte("POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 100\r\n\r\nAction=Desc"))
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	if d := time.Since(start); d > 5*time.Second || !strings.Contains(string(buf[:n]), "RequestTimeout") {
		t.Fatalf("after %v: %q", d, buf[:n])
	}
}

// TestThrottle: an action beyond its quota gets RequestLimitExceeded 503,
// which botocore's legacy retry mode retries only with 503.
func TestThrottle(t *testing.T) {
	q := throttle.Quotas{}
	if err := q.Set(throttle.DescribeRegions, throttle.Account, throttle.Limit{Rate: 0.001, Burst: 2}); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, ec2api.Options{Throttle: throttle.New(q, nil)})
	for range 2 {
		s.raw(t, rawRequest{body: ec2Prefix}).expect(t, 200, "", "")
	}
	s.raw(t, rawRequest{body: ec2Prefix}).expect(t, 503, "RequestLimitExceeded", "Request limit exceeded.")
	// Bob's bucket is his own; STS is not throttled.
	s.raw(t, rawRequest{body: ec2Prefix, key: bobKey, secret: bobSecret}).expect(t, 200, "", "")
	s.raw(t, rawRequest{body: stsBody, service: "sts"}).expect(t, 200, "", "")
}

// blockingService blocks DescribeSnapshots until released.
type blockingService struct {
	*fakeService
	entered chan struct{}
	release chan struct{}
}

func (b *blockingService) DescribeSnapshots(ctx context.Context, in snapshot.DescribeInput) (*snapshot.DescribeOutput, error) {
	b.entered <- struct{}{}
	<-b.release
	return &snapshot.DescribeOutput{}, nil
}

// TestInFlightBound: beyond MaxInFlight a request is refused at once with
// a 503 that every SDK retries.
func TestInFlightBound(t *testing.T) {
	b := &blockingService{fakeService: newFake(), entered: make(chan struct{}), release: make(chan struct{})}
	s := startServer(t, ec2api.Options{Service: b, MaxInFlight: 1})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.raw(t, rawRequest{body: "Action=DescribeSnapshots&Version=2016-11-15"}).expect(t, 200, "", "")
	}()
	<-b.entered
	s.raw(t, rawRequest{body: ec2Prefix}).expect(t, 503, "Unavailable", "retry later")
	close(b.release)
	wg.Wait()
	s.raw(t, rawRequest{body: ec2Prefix}).expect(t, 200, "", "")
}

// TestMembers: what the wire checks of the members themselves, before any
// call to the service.
func TestMembers(t *testing.T) {
	s := startServer(t, ec2api.Options{})
	const copyBody = "Action=CopySnapshot&Version=2016-11-15&SourceRegion=us-east-1&SourceSnapshotId=snap-00000000000000001"
	tests := []struct {
		body   string
		status int
		code   string
		msg    string
	}{
		{"Action=CreateTags&Version=2016-11-15&ResourceId.1=snap-1&Tag.1.Key=a&Tag.2.Value=b", 400, "MissingParameter", "Tag.2.Key"},
		{"Action=DeleteTags&Version=2016-11-15&ResourceId.1=snap-1&Tag.1.Value=b", 400, "MissingParameter", "Tag.1.Key"},
		{copyBody + "&TagSpecification.1.Tag.1.Key=a", 400, "MissingParameter", "TagSpecification.1.ResourceType"},
		{copyBody + "&TagSpecification.1.ResourceType=snapshot&TagSpecification.1.Tag.1.Value=a", 400, "MissingParameter", "TagSpecification.1.Tag.1.Key"},
		{copyBody + "&TagSpecification.1.ResourceType=image&TagSpecification.1.Tag.1.Key=a", 400, "InvalidParameterValue", "'image'"},
		{copyBody + "&Encrypted=maybe", 400, "InvalidParameterValue", "Encrypted"},
		{copyBody + "&DestinationAvailabilityZone=us-east-1a", 400, "InvalidParameterValue", "DestinationAvailabilityZone"},
		{"Action=DescribeSnapshots&Version=2016-11-15&MaxResults=ten", 400, "InvalidParameterValue", "MaxResults"},
		{"Action=DescribeSnapshots&Version=2016-11-15&Filter.1.Value.1=x", 400, "MissingParameter", "Filter.1.Name"},
		{"Action=DescribeSnapshots&Version=2016-11-15&Filter.1.Name=status", 400, "InvalidParameterValue", "no values"},
		{"Action=DescribeTags&Version=2016-11-15&Filter.1.Name=tag-key&Filter.1.Value.1=x", 400, "InvalidParameterValue", "The filter 'tag-key' is invalid"},
		{"Action=DescribeRegions&Version=2016-11-15&Filter.1.Name=zone&Filter.1.Value.1=x", 400, "InvalidParameterValue", "The filter 'zone' is invalid"},
		{"Action=DeleteSnapshot&Version=2016-11-15&DryRun=true", 400, "MissingParameter", "SnapshotId"},
		{"Action=CreateTags&Version=2016-11-15&Tag.1.Key=a&DryRun=true", 400, "MissingParameter", "ResourceId"},
		{"Action=CopySnapshot&Version=2016-11-15&SourceRegion=us-east-1&DryRun=true", 400, "MissingParameter", "SourceSnapshotId"},
	}
	for _, tt := range tests {
		s.raw(t, rawRequest{body: tt.body}).expect(t, tt.status, tt.code, tt.msg)
	}
	if n := len(s.fake.calls()); n != 0 {
		t.Fatalf("%d calls reached the service", n)
	}
	// PresignedUrl and DestinationRegion, which botocore and the JS SDK
	// add, reach nothing; CompletionDurationMinutes is accepted.
	s.fake.add(aliceAccount, snapshot.SnapshotInfo{SnapshotID: "snap-00000000000000001"})
	s.raw(t, rawRequest{body: copyBody + "&PresignedUrl=https%3A%2F%2Fx%2F%3FAction%3DCopySnapshot&DestinationRegion=us-east-1&CompletionDurationMinutes=15"}).expect(t, 200, "", "")
}
