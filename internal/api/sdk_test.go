package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsebs "github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/smithy-go"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// The official Go SDK is the oracle of wire compatibility: these tests
// drive aws-sdk-go-v2/service/ebs against the handler over real HTTP.

// newSDKClient starts the handler over svc on an httptest.Server and
// returns an SDK client pointed at it. do, if not nil, wraps the client's
// HTTP round trips.
func newSDKClient(tb testing.TB, svc *fakeService, do func(*http.Client, *http.Request) (*http.Response, error)) *awsebs.Client {
	tb.Helper()
	srv := httptest.NewServer(newHandler(tb, svc))
	tb.Cleanup(srv.Close)
	var hc aws.HTTPClient = srv.Client()
	if do != nil {
		hc = doFunc(func(r *http.Request) (*http.Response, error) { return do(srv.Client(), r) })
	}
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient:  hc,
	}
	return awsebs.NewFromConfig(cfg, func(o *awsebs.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
}

type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestSDKStartSnapshot(t *testing.T) {
	ctx := context.Background()
	svc := &fakeService{}
	svc.start = func(_ context.Context, in snapshot.StartInput) (*snapshot.SnapshotOutput, error) {
		return &snapshot.SnapshotOutput{
			SnapshotID: "snap-0e3be26c9ccc164eb", OwnerID: in.AccountID, Status: ebs.StatusPending,
			StartTime: testTime, VolumeSize: *in.VolumeSize, BlockSize: ebs.BlockSize,
			Tags: in.Tags, Description: *in.Description, KMSKeyARN: "",
		}, nil
	}
	client := newSDKClient(t, svc, nil)
	out, err := client.StartSnapshot(ctx, &awsebs.StartSnapshotInput{
		VolumeSize:  aws.Int64(8),
		Description: aws.String("root"),
		Tags:        []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
		Timeout:     aws.Int32(60),
		Encrypted:   aws.Bool(false),
	})
	if err != nil {
		t.Fatalf("StartSnapshot: %v", err)
	}
	in := lastInput[snapshot.StartInput](t, svc)
	checkPtr(t, "ClientToken sent", boolPtr(in.ClientToken != nil), ptr("true")) // the SDK fills in a UUID
	if *in.VolumeSize != 8 || *in.Timeout != 60 || *in.Encrypted || *in.Description != "root" || in.ParentSnapshotID != nil || in.KMSKeyARN != nil {
		t.Errorf("input = %s", formatStartInput(in))
	}
	if !slices.Equal(in.Tags, []ebs.Tag{{Key: "k", Value: "v"}}) {
		t.Errorf("Tags = %v", in.Tags)
	}

	checkEqual(t, "SnapshotId", aws.ToString(out.SnapshotId), "snap-0e3be26c9ccc164eb")
	checkEqual(t, "OwnerId", aws.ToString(out.OwnerId), testAccount)
	checkEqual(t, "Status", string(out.Status), "pending")
	checkEqual(t, "Description", aws.ToString(out.Description), "root")
	if out.StartTime == nil || !out.StartTime.Equal(testTime) {
		t.Errorf("StartTime = %v, want %v", out.StartTime, testTime)
	}
	if aws.ToInt64(out.VolumeSize) != 8 || aws.ToInt32(out.BlockSize) != ebs.BlockSize {
		t.Errorf("VolumeSize = %v, BlockSize = %v", out.VolumeSize, out.BlockSize)
	}
	if out.KmsKeyArn != nil || out.ParentSnapshotId != nil || out.SseType != "" {
		t.Errorf("KmsKeyArn = %v, ParentSnapshotId = %v, SseType = %q; want all absent", out.KmsKeyArn, out.ParentSnapshotId, out.SseType)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "k" || aws.ToString(out.Tags[0].Value) != "v" {
		t.Errorf("Tags = %v", out.Tags)
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || !isUUIDv4(id) {
		t.Errorf("request ID = %q, %v; want a UUIDv4", id, ok)
	}
}

func boolPtr(b bool) *string {
	if b {
		return ptr("true")
	}
	return ptr("false")
}

func TestSDKPutSnapshotBlock(t *testing.T) {
	ctx := context.Background()
	svc := &fakeService{}
	client := newSDKClient(t, svc, nil)
	block := bytes.Repeat([]byte{2}, ebs.BlockSize)
	sum := ebs.Sum(block).String()
	out, err := client.PutSnapshotBlock(ctx, &awsebs.PutSnapshotBlockInput{
		SnapshotId:        aws.String("snap-1"),
		BlockIndex:        aws.Int32(3),
		BlockData:         bytes.NewReader(block),
		DataLength:        aws.Int32(ebs.BlockSize),
		Checksum:          aws.String(sum),
		ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		Progress:          aws.Int32(50),
	})
	if err != nil {
		t.Fatalf("PutSnapshotBlock: %v", err)
	}
	checkEqual(t, "Checksum", aws.ToString(out.Checksum), sum)
	checkEqual(t, "Checksum", sum, "Ioxb8/mw3beyMReNfgZ6/5ZqGRsfzT7Q4uNx7KM/zfw=") // spec §7.6
	checkEqual(t, "ChecksumAlgorithm", string(out.ChecksumAlgorithm), "SHA256")
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || !isUUIDv4(id) {
		t.Errorf("request ID = %q, %v; want a UUIDv4", id, ok)
	}

	in := lastInput[snapshot.PutBlockInput](t, svc)
	checkEqual(t, "SnapshotID", in.SnapshotID, "snap-1")
	checkEqual(t, "BlockIndex", in.BlockIndex, "3")
	checkPtr(t, "DataLength", in.DataLength, ptr("524288"))
	checkPtr(t, "Checksum", in.Checksum, ptr(sum))
	checkPtr(t, "ChecksumAlgorithm", in.ChecksumAlgorithm, ptr("SHA256"))
	checkPtr(t, "Progress", in.Progress, ptr("50"))
	if in.PayloadHash != nil {
		t.Error("PayloadHash set, but the Go SDK sends UNSIGNED-PAYLOAD")
	}
}

func TestSDKCompleteSnapshot(t *testing.T) {
	ctx := context.Background()
	svc := &fakeService{}
	svc.complete = func(context.Context, snapshot.CompleteInput) (*snapshot.CompleteOutput, error) {
		return &snapshot.CompleteOutput{Status: ebs.StatusCompleted}, nil
	}
	client := newSDKClient(t, svc, nil)
	out, err := client.CompleteSnapshot(ctx, &awsebs.CompleteSnapshotInput{
		SnapshotId:                aws.String("snap-1"),
		ChangedBlocksCount:        aws.Int32(4),
		Checksum:                  aws.String("Pq34jf4xh07iqiQpo/morRl/xL06mqy1ERimH+Hypi8="),
		ChecksumAlgorithm:         types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	})
	if err != nil {
		t.Fatalf("CompleteSnapshot: %v", err)
	}
	checkEqual(t, "Status", string(out.Status), "completed")
	in := lastInput[snapshot.CompleteInput](t, svc)
	checkEqual(t, "SnapshotID", in.SnapshotID, "snap-1")
	checkPtr(t, "ChangedBlocksCount", in.ChangedBlocksCount, ptr("4"))
	checkPtr(t, "Checksum", in.Checksum, ptr("Pq34jf4xh07iqiQpo/morRl/xL06mqy1ERimH+Hypi8="))
	checkPtr(t, "ChecksumAlgorithm", in.ChecksumAlgorithm, ptr("SHA256"))
	checkPtr(t, "ChecksumAggregationMethod", in.ChecksumAggregationMethod, ptr("LINEAR"))
}

func TestSDKGetSnapshotBlock(t *testing.T) {
	ctx := context.Background()
	svc := &fakeService{}
	block := bytes.Repeat([]byte{1}, ebs.BlockSize)
	svc.get = func(context.Context, snapshot.GetBlockInput) (*snapshot.GetBlockOutput, error) {
		return &snapshot.GetBlockOutput{Data: block, Checksum: ebs.Sum(block).String(), ChecksumAlgorithm: "SHA256",
			Release: func() { svc.releases.Add(1) }}, nil
	}
	client := newSDKClient(t, svc, nil)
	const token = "AAUBAcuWqOCnDNuKle11s7IIX6jp6FYcC/q8oT93913HhvLvA+3JRrSybp/0="
	out, err := client.GetSnapshotBlock(ctx, &awsebs.GetSnapshotBlockInput{
		SnapshotId: aws.String("snap-1"),
		BlockIndex: aws.Int32(2047),
		BlockToken: aws.String(token),
	})
	if err != nil {
		t.Fatalf("GetSnapshotBlock: %v", err)
	}
	data, err := io.ReadAll(out.BlockData)
	out.BlockData.Close()
	if err != nil {
		t.Fatalf("reading BlockData: %v", err)
	}
	if !bytes.Equal(data, block) {
		t.Errorf("BlockData is %d bytes, not the block", len(data))
	}
	if aws.ToInt32(out.DataLength) != ebs.BlockSize {
		t.Errorf("DataLength = %v", out.DataLength)
	}
	checkEqual(t, "Checksum", aws.ToString(out.Checksum), "M6FQvOsTwamSIx5ltPrRaBUhL8Bs20CJltMu6yzvnrs=")
	checkEqual(t, "ChecksumAlgorithm", string(out.ChecksumAlgorithm), "SHA256")
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || !isUUIDv4(id) {
		t.Errorf("request ID = %q, %v; want a UUIDv4", id, ok)
	}
	in := lastInput[snapshot.GetBlockInput](t, svc)
	checkEqual(t, "BlockIndex", in.BlockIndex, "2047")
	checkPtr(t, "BlockToken", in.BlockToken, ptr(token))
	// The handler releases after its last write, which may be just after
	// the client has read the body.
	for deadline := time.Now().Add(5 * time.Second); svc.releases.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if got := svc.releases.Load(); got != 1 {
		t.Errorf("Release called %d times, want 1", got)
	}
}

func TestSDKListSnapshotBlocks(t *testing.T) {
	ctx := context.Background()
	svc := &fakeService{}
	expiry := time.UnixMilli(1790922504246)
	pages := map[string]*snapshot.ListBlocksOutput{
		"": {Blocks: []snapshot.Block{{BlockIndex: 0, BlockToken: "t0"}, {BlockIndex: 1, BlockToken: "t1"}},
			ExpiryTime: expiry, VolumeSize: 1, BlockSize: ebs.BlockSize, NextToken: "p+/2="},
		"p+/2=": {ExpiryTime: expiry, VolumeSize: 1, BlockSize: ebs.BlockSize, NextToken: "p3"}, // an empty page that goes on
		"p3":    {Blocks: []snapshot.Block{{BlockIndex: 7, BlockToken: "t7"}}, ExpiryTime: expiry, VolumeSize: 1, BlockSize: ebs.BlockSize},
	}
	svc.list = func(_ context.Context, in snapshot.ListBlocksInput) (*snapshot.ListBlocksOutput, error) {
		return pages[deref(in.NextToken)], nil
	}
	client := newSDKClient(t, svc, nil)

	out, err := client.ListSnapshotBlocks(ctx, &awsebs.ListSnapshotBlocksInput{
		SnapshotId: aws.String("snap-1"), NextToken: aws.String("p+/2="), MaxResults: aws.Int32(100), StartingBlockIndex: aws.Int32(5),
	})
	if err != nil {
		t.Fatalf("ListSnapshotBlocks: %v", err)
	}
	in := lastInput[snapshot.ListBlocksInput](t, svc)
	checkPtr(t, "NextToken", in.NextToken, ptr("p+/2="))
	checkPtr(t, "MaxResults", in.MaxResults, ptr("100"))
	checkPtr(t, "StartingBlockIndex", in.StartingBlockIndex, ptr("5"))
	if out.Blocks == nil || len(out.Blocks) != 0 || aws.ToString(out.NextToken) != "p3" {
		t.Errorf("empty page: Blocks = %v, NextToken = %v", out.Blocks, out.NextToken)
	}

	var got []int32
	var tokens []string
	p := awsebs.NewListSnapshotBlocksPaginator(client, &awsebs.ListSnapshotBlocksInput{SnapshotId: aws.String("snap-1")})
	for n := 0; p.HasMorePages(); n++ {
		if n > 5 {
			t.Fatal("the paginator does not stop")
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		if page.ExpiryTime == nil || !page.ExpiryTime.Equal(expiry) {
			t.Errorf("ExpiryTime = %v, want %v", page.ExpiryTime, expiry)
		}
		if aws.ToInt64(page.VolumeSize) != 1 || aws.ToInt32(page.BlockSize) != ebs.BlockSize {
			t.Errorf("VolumeSize = %v, BlockSize = %v", page.VolumeSize, page.BlockSize)
		}
		for _, b := range page.Blocks {
			got = append(got, aws.ToInt32(b.BlockIndex))
			tokens = append(tokens, aws.ToString(b.BlockToken))
		}
		if !p.HasMorePages() && page.NextToken != nil {
			t.Errorf("last page NextToken = %q, want nil", *page.NextToken)
		}
	}
	if !slices.Equal(got, []int32{0, 1, 7}) || !slices.Equal(tokens, []string{"t0", "t1", "t7"}) {
		t.Errorf("blocks = %v %v", got, tokens)
	}
}

func TestSDKListChangedBlocks(t *testing.T) {
	ctx := context.Background()
	svc := &fakeService{}
	expiry := time.UnixMilli(1592976647009)
	svc.changed = func(_ context.Context, in snapshot.ListChangedInput) (*snapshot.ListChangedOutput, error) {
		out := &snapshot.ListChangedOutput{ExpiryTime: expiry, VolumeSize: 3, BlockSize: ebs.BlockSize}
		if in.NextToken == nil {
			out.ChangedBlocks = []snapshot.ChangedBlock{
				{BlockIndex: 0, FirstBlockToken: "f0", SecondBlockToken: "s0"},
				{BlockIndex: 6002, FirstBlockToken: "f6002"},
				{BlockIndex: 6004, SecondBlockToken: "s6004"},
			}
			out.NextToken = "n=="
		}
		return out, nil
	}
	client := newSDKClient(t, svc, nil)
	out, err := client.ListChangedBlocks(ctx, &awsebs.ListChangedBlocksInput{
		FirstSnapshotId: aws.String("snap-1"), SecondSnapshotId: aws.String("snap-2"),
		MaxResults: aws.Int32(500), StartingBlockIndex: aws.Int32(0),
	})
	if err != nil {
		t.Fatalf("ListChangedBlocks: %v", err)
	}
	in := lastInput[snapshot.ListChangedInput](t, svc)
	checkEqual(t, "SecondSnapshotID", in.SecondSnapshotID, "snap-2")
	checkPtr(t, "FirstSnapshotID", in.FirstSnapshotID, ptr("snap-1"))
	checkPtr(t, "MaxResults", in.MaxResults, ptr("500"))
	checkPtr(t, "StartingBlockIndex", in.StartingBlockIndex, ptr("0"))
	checkPtr(t, "NextToken", in.NextToken, nil)

	if len(out.ChangedBlocks) != 3 {
		t.Fatalf("ChangedBlocks = %v", out.ChangedBlocks)
	}
	want := []struct {
		index         int32
		first, second *string
	}{{0, ptr("f0"), ptr("s0")}, {6002, ptr("f6002"), nil}, {6004, nil, ptr("s6004")}}
	for i, w := range want {
		b := out.ChangedBlocks[i]
		if aws.ToInt32(b.BlockIndex) != w.index {
			t.Errorf("[%d] BlockIndex = %v, want %d", i, b.BlockIndex, w.index)
		}
		checkPtr(t, "FirstBlockToken", b.FirstBlockToken, w.first)
		checkPtr(t, "SecondBlockToken", b.SecondBlockToken, w.second)
	}
	checkEqual(t, "NextToken", aws.ToString(out.NextToken), "n==")
	if out.ExpiryTime == nil || !out.ExpiryTime.Equal(expiry) || aws.ToInt64(out.VolumeSize) != 3 {
		t.Errorf("ExpiryTime = %v, VolumeSize = %v", out.ExpiryTime, out.VolumeSize)
	}

	out, err = client.ListChangedBlocks(ctx, &awsebs.ListChangedBlocksInput{
		FirstSnapshotId: aws.String("snap-1"), SecondSnapshotId: aws.String("snap-2"), NextToken: out.NextToken,
	})
	if err != nil {
		t.Fatalf("ListChangedBlocks page 2: %v", err)
	}
	checkPtr(t, "NextToken sent", lastInput[snapshot.ListChangedInput](t, svc).NextToken, ptr("n=="))
	if out.NextToken != nil || out.ChangedBlocks == nil || len(out.ChangedBlocks) != 0 {
		t.Errorf("last page: NextToken = %v, ChangedBlocks = %v", out.NextToken, out.ChangedBlocks)
	}
}

// TestSDKErrors checks that the SDK types every error the way it types
// real AWS's.
func TestSDKErrors(t *testing.T) {
	ctx := context.Background()
	call := func(client *awsebs.Client) error {
		_, err := client.CompleteSnapshot(ctx, &awsebs.CompleteSnapshotInput{SnapshotId: aws.String("snap-1"), ChangedBlocksCount: aws.Int32(0)})
		return err
	}
	tests := []struct {
		name  string
		err   error
		check func(t *testing.T, err error)
	}{
		{"Validation", ebs.E("CompleteSnapshot", ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "Snapshot is already completed"), func(t *testing.T, err error) {
			var e *types.ValidationException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not a ValidationException", err, err)
			}
			checkEqual(t, "Reason", string(e.Reason), "INVALID_SNAPSHOT_ID")
			checkEqual(t, "Message", e.ErrorMessage(), "Snapshot is already completed")
		}},
		{"ValidationFramework", ebs.InvalidFields("CompleteSnapshot", ebs.Violation{Member: "changedBlocksCount", Value: ptr("-1"), Constraint: ebs.ConstraintMin(0)}), func(t *testing.T, err error) {
			var e *types.ValidationException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not a ValidationException", err, err)
			}
			checkEqual(t, "Reason", string(e.Reason), "INVALID_PARAMETER_VALUE")
			checkEqual(t, "Message", e.ErrorMessage(), "1 validation error detected: Value '-1' at 'changedBlocksCount' failed to satisfy constraint: Member must have value greater than or equal to 0")
		}},
		{"NotFound", ebs.SnapshotNotFound("CompleteSnapshot", "snap-1"), func(t *testing.T, err error) {
			var e *types.ResourceNotFoundException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not a ResourceNotFoundException", err, err)
			}
			checkEqual(t, "Reason", string(e.Reason), "SNAPSHOT_NOT_FOUND")
			checkEqual(t, "Message", e.ErrorMessage(), "The snapshot 'snap-1' does not exist.")
		}},
		{"Conflict", ebs.E("StartSnapshot", ebs.KindConflict, "", "Current request does not match request stored with this token."), func(t *testing.T, err error) {
			var e *types.ConflictException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not a ConflictException", err, err)
			}
			checkEqual(t, "Message", e.ErrorMessage(), "Current request does not match request stored with this token.")
		}},
		{"AccessDenied", ebs.E("CompleteSnapshot", ebs.KindAccessDenied, "", "no"), func(t *testing.T, err error) {
			var e *types.AccessDeniedException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not an AccessDeniedException", err, err)
			}
			checkEqual(t, "Reason", string(e.Reason), "UNAUTHORIZED_ACCOUNT")
		}},
		{"Throttled", ebs.E("CompleteSnapshot", ebs.KindThrottled, ebs.ReasonResourceLevelThrottle, "slow down"), func(t *testing.T, err error) {
			var e *types.RequestThrottledException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not a RequestThrottledException", err, err)
			}
			checkEqual(t, "Reason", string(e.Reason), "RESOURCE_LEVEL_THROTTLE")
		}},
		{"QuotaExceeded", ebs.E("CompleteSnapshot", ebs.KindQuotaExceeded, "", "quota"), func(t *testing.T, err error) {
			var e *types.ServiceQuotaExceededException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not a ServiceQuotaExceededException", err, err)
			}
		}},
		{"ConcurrentLimit", ebs.E("StartSnapshot", ebs.KindConcurrentLimit, "", "too many"), func(t *testing.T, err error) {
			var e *types.ConcurrentLimitExceededException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not a ConcurrentLimitExceededException", err, err)
			}
		}},
		{"Internal", errBoom, func(t *testing.T, err error) {
			var e *types.InternalServerException
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not an InternalServerException", err, err)
			}
		}},
		{"InvalidSignature", ebs.E("", ebs.KindBadSignature, "", "The request signature we calculated does not match the signature you provided."), func(t *testing.T, err error) {
			var e smithy.APIError
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not a smithy.APIError", err, err)
			}
			checkEqual(t, "ErrorCode", e.ErrorCode(), "InvalidSignatureException")
			checkEqual(t, "ErrorMessage", e.ErrorMessage(), "The request signature we calculated does not match the signature you provided.")
			if e.ErrorFault() != smithy.FaultUnknown && e.ErrorFault() != smithy.FaultClient {
				t.Errorf("ErrorFault = %v", e.ErrorFault())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{}
			svc.errAll(tc.err)
			err := call(newSDKClient(t, svc, nil))
			if err == nil {
				t.Fatal("no error")
			}
			tc.check(t, err)
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || !isUUIDv4(re.ServiceRequestID()) {
				t.Errorf("error %v carries no request ID", err)
			}
		})
	}

	t.Run("UnknownOperation", func(t *testing.T) {
		client := newSDKClient(t, &fakeService{}, func(c *http.Client, r *http.Request) (*http.Response, error) {
			r.URL.Path, r.URL.RawPath = "/snapshots/snap-1/unknown", ""
			return c.Do(r)
		})
		err := call(client)
		var e smithy.APIError
		if !errors.As(err, &e) {
			t.Fatalf("%T %v is not a smithy.APIError", err, err)
		}
		checkEqual(t, "ErrorCode", e.ErrorCode(), "UnknownOperationException")
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || !isUUIDv4(re.ServiceRequestID()) || re.HTTPStatusCode() != 404 {
			t.Errorf("error %v: want a 404 with a request ID", err)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
