package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ebsapi "github.com/aws/aws-sdk-go-v2/service/ebs"
	ebstypes "github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/sigv4"
)

// seen is what the test server observed of one request.
type seen struct {
	Method, Path string
	Identity     sigv4.Identity
	Body         []byte
	Chunked      bool
	Err          string
}

// verifyingServer starts an httptest server that verifies every request
// with a real clock, records what it saw, and answers like EBS would.
func verifyingServer(tb testing.TB) (*httptest.Server, func() []seen) {
	tb.Helper()
	var mu sync.Mutex
	var log []seen
	v := &sigv4.Verifier{Keys: testKeys()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{Method: r.Method, Path: r.URL.Path, Chunked: len(r.TransferEncoding) > 0}
		id, err := v.Verify(r)
		if err == nil {
			s.Identity = id
			s.Body, err = io.ReadAll(r.Body)
		}
		if err != nil {
			s.Err = err.Error()
		}
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
		if err != nil {
			w.Header().Set("X-Amzn-ErrorType", "InvalidSignatureException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		answerLikeEBS(w, r, s.Body)
	}))
	tb.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), log...)
	}
}

// answerLikeEBS writes a minimal successful EBS response for r.
func answerLikeEBS(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/snapshots":
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"SnapshotId":"snap-0123456789abcdef0","Status":"pending","BlockSize":524288}`)
	case r.Method == http.MethodPut:
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{}`)
	case strings.HasPrefix(r.URL.Path, "/snapshots/completion/"):
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"Status":"pending"}`)
	case r.URL.Query().Has("blockToken"):
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("x-amz-Data-Length", "3")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("abc"))
	default:
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{}`)
	}
}

// TestVerifyOverHTTP sends requests signed by the official SDK signer
// through a real net/http client and server.
func TestVerifyOverHTTP(t *testing.T) {
	srv, log := verifyingServer(t)
	data := block(64 << 10)
	startBody := []byte(`{"VolumeSize":8}`)
	tests := []struct {
		name        string
		spec        reqSpec
		wantPayload string
		wantChunked bool
	}{
		{"GET with tokens", reqSpec{method: http.MethodGet,
			url: srv.URL + "/snapshots/snap-1/blocks?pageToken=abc%2B%2F%3D&maxResults=100"}, hexSHA256(nil), false},
		{"POST JSON", reqSpec{method: http.MethodPost, url: srv.URL + "/snapshots",
			headers: []header{{"Content-Type", "application/json"}}, body: startBody}, hexSHA256(startBody), false},
		{"POST JSON chunked", reqSpec{method: http.MethodPost, url: srv.URL + "/snapshots",
			headers: []header{{"Content-Type", "application/json"}}, body: startBody, chunked: true}, hexSHA256(startBody), true},
		{"PUT UNSIGNED-PAYLOAD", func() reqSpec {
			s := putBlockSpec(data)
			s.url = srv.URL + "/snapshots/snap-1/blocks/7"
			return s
		}(), sigv4.UnsignedPayload, false},
		{"PUT UNSIGNED-PAYLOAD chunked", func() reqSpec {
			s := putBlockSpec(data)
			s.url, s.chunked = srv.URL+"/snapshots/snap-1/blocks/7", true
			return s
		}(), sigv4.UnsignedPayload, true},
		{"PUT hex payload", func() reqSpec {
			s := putBlockSpec(data)
			s.url, s.contentSHA = srv.URL+"/snapshots/snap-1/blocks/7", "hex"
			return s
		}(), hexSHA256(data), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.at = time.Now()
			r := clientRequest(t, tc.spec)
			sdkSign(t, r, tc.spec)
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Fatalf("status %d: %s", resp.StatusCode, msg)
			}
			got := log()[len(log())-1]
			if got.Identity.PayloadHash != tc.wantPayload {
				t.Errorf("PayloadHash=%q, want %q", got.Identity.PayloadHash, tc.wantPayload)
			}
			if got.Chunked != tc.wantChunked {
				t.Errorf("chunked=%v, want %v", got.Chunked, tc.wantChunked)
			}
			if !bytes.Equal(got.Body, tc.spec.body) {
				t.Errorf("handler read %d bytes, want the %d sent", len(got.Body), len(tc.spec.body))
			}
		})
	}
}

// TestVerifyEBSClient drives the official aws-sdk-go-v2 EBS client, with
// its own middleware stack, against a verifying server.
func TestVerifyEBSClient(t *testing.T) {
	srv, log := verifyingServer(t)
	client := ebsapi.New(ebsapi.Options{
		Region:           "us-west-2",
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, nil
		}),
	})
	ctx := t.Context()
	data := block(524288)
	sum := sha256.Sum256(data)
	checksum := base64.StdEncoding.EncodeToString(sum[:])
	snap := aws.String("snap-0123456789abcdef0")
	put := func(body io.Reader) error {
		_, err := client.PutSnapshotBlock(ctx, &ebsapi.PutSnapshotBlockInput{
			SnapshotId: snap, BlockIndex: aws.Int32(7), BlockData: body, DataLength: aws.Int32(int32(len(data))),
			Checksum: aws.String(checksum), ChecksumAlgorithm: ebstypes.ChecksumAlgorithmChecksumAlgorithmSha256,
			Progress: aws.Int32(50)})
		return err
	}
	calls := []struct {
		name        string
		call        func() error
		wantPayload string
		wantChunked bool
	}{
		{"StartSnapshot", func() error {
			_, err := client.StartSnapshot(ctx, &ebsapi.StartSnapshotInput{VolumeSize: aws.Int64(8),
				ClientToken: aws.String("token +/= 1"), Description: aws.String("a  b"),
				Tags: []ebstypes.Tag{{Key: aws.String("k"), Value: aws.String("v w")}}})
			return err
		}, "", false},
		{"PutSnapshotBlock seekable", func() error { return put(bytes.NewReader(data)) }, sigv4.UnsignedPayload, false},
		{"PutSnapshotBlock stream", func() error { return put(io.MultiReader(bytes.NewReader(data))) }, sigv4.UnsignedPayload, true},
		{"CompleteSnapshot", func() error {
			_, err := client.CompleteSnapshot(ctx, &ebsapi.CompleteSnapshotInput{SnapshotId: snap, ChangedBlocksCount: aws.Int32(1),
				Checksum: aws.String(checksum), ChecksumAlgorithm: ebstypes.ChecksumAlgorithmChecksumAlgorithmSha256,
				ChecksumAggregationMethod: ebstypes.ChecksumAggregationMethodChecksumAggregationLinear})
			return err
		}, hexSHA256(nil), false},
		{"ListSnapshotBlocks", func() error {
			_, err := client.ListSnapshotBlocks(ctx, &ebsapi.ListSnapshotBlocksInput{SnapshotId: snap,
				MaxResults: aws.Int32(100), NextToken: aws.String("abc+/= def"), StartingBlockIndex: aws.Int32(3)})
			return err
		}, hexSHA256(nil), false},
		{"ListChangedBlocks", func() error {
			_, err := client.ListChangedBlocks(ctx, &ebsapi.ListChangedBlocksInput{SecondSnapshotId: snap,
				FirstSnapshotId: aws.String("snap-0fedcba9876543210")})
			return err
		}, hexSHA256(nil), false},
		{"GetSnapshotBlock", func() error {
			out, err := client.GetSnapshotBlock(ctx, &ebsapi.GetSnapshotBlockInput{SnapshotId: snap,
				BlockIndex: aws.Int32(7), BlockToken: aws.String("AAUB+/Ac=")})
			if err == nil {
				out.BlockData.Close()
			}
			return err
		}, hexSHA256(nil), false},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got := log()[len(log())-1]
			want := c.wantPayload
			if want == "" {
				want = hexSHA256(got.Body)
			}
			if got.Identity.PayloadHash != want || got.Identity.Region != "us-west-2" || got.Identity.AccountID != testAccount {
				t.Errorf("Identity=%+v, want PayloadHash %q in us-west-2 of %s", got.Identity, want, testAccount)
			}
			if got.Chunked != c.wantChunked {
				t.Errorf("chunked=%v, want %v", got.Chunked, c.wantChunked)
			}
			if got.Method == http.MethodPut && !bytes.Equal(got.Body, data) {
				t.Errorf("handler read %d bytes, want the %d sent", len(got.Body), len(data))
			}
		})
	}
}

// TestVerifyOverHTTPRejects checks that a tampering proxy is caught end to
// end: a signed header changed in flight.
func TestVerifyOverHTTPRejects(t *testing.T) {
	srv, log := verifyingServer(t)
	s := putBlockSpec(block(1024))
	s.url, s.at = srv.URL+"/snapshots/snap-1/blocks/7", time.Now()
	r := clientRequest(t, s)
	sdkSign(t, r, s)
	r.Header.Set("X-Amz-Data-Length", strconv.Itoa(2048))
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if got := log()[0].Err; !strings.HasPrefix(got, msgMismatch) {
		t.Errorf("server error %q, want the mismatch message", got)
	}
}
