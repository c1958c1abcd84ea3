package ec2api

import (
	"context"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// stubService answers with fixed outputs, for the golden tests.
type stubService struct {
	describe *snapshot.DescribeOutput
	copied   *snapshot.CopyOutput
	tags     *snapshot.DescribeTagsOutput
}

func (s *stubService) DescribeSnapshots(context.Context, snapshot.DescribeInput) (*snapshot.DescribeOutput, error) {
	return s.describe, nil
}
func (s *stubService) DeleteSnapshot(context.Context, snapshot.DeleteInput) error { return nil }
func (s *stubService) CopySnapshot(context.Context, snapshot.CopyInput) (*snapshot.CopyOutput, error) {
	return s.copied, nil
}
func (s *stubService) CreateTags(context.Context, snapshot.TagsInput) error  { return nil }
func (s *stubService) DeleteTags(context.Context, snapshot.UntagInput) error { return nil }
func (s *stubService) DescribeTags(context.Context, snapshot.DescribeTagsInput) (*snapshot.DescribeTagsOutput, error) {
	return s.tags, nil
}

const reqID = "5768d2f6-9c8c-4005-8bb0-448e5521a4fe"

func goldenCall(t *testing.T, body string) *call {
	t.Helper()
	f, err := parseForm([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &call{ctx: context.Background(), form: &f.root, account: "111111111111", id: reqID, host: "127.0.0.1:8450"}
}

func checkGolden(t *testing.T, name string, got []byte, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if string(got) != want {
		t.Errorf("%s:\n got %s\nwant %s", name, got, want)
	}
}

const hdr = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// TestGoldenResponses pins every success answer byte for byte
// (docs/ec2-api.md §3, §5): the request ID first, the model's element
// names (<status> for State), ms timestamps in UTC, escaped text, no empty
// numeric element, <return>true</return> for actions without output.
func TestGoldenResponses(t *testing.T) {
	start := time.Date(2026, 9, 25, 15, 19, 43, 497_000_000, time.FixedZone("CEST", 2*3600))
	done := time.Date(2026, 9, 25, 13, 19, 44, 999_999_999, time.UTC)
	stub := &stubService{
		describe: &snapshot.DescribeOutput{
			Snapshots: []snapshot.SnapshotInfo{{
				SnapshotID: "snap-0dc8cbb74ea020f7c", OwnerID: "111111111111", VolumeID: "vol-ffffffff",
				Status: ebs.StatusCompleted, Progress: "100%", StartTime: start, CompleteTime: done, VolumeSize: 1,
				Description: `d & <e> "q" 'a'` + "\tx\n", Tags: []ebs.Tag{{Key: "suite", Value: "a&b"}, {Key: "empty", Value: ""}},
				Encrypted: true, KMSKeyARN: "arn:aws:kms:us-east-1:111111111111:key/k", FullSizeBytes: 524288,
			}, {
				SnapshotID: "snap-00000001", OwnerID: "111111111111", VolumeID: "vol-ffffffff",
				Status: ebs.StatusError, StatusMsg: "Snapshot timed out", Progress: "0%", StartTime: start.Add(time.Second), VolumeSize: 16384,
			}},
			NextToken: "tok/+=",
		},
		copied: &snapshot.CopyOutput{SnapshotID: "snap-080d1bc5d0346cbcb", Tags: []ebs.Tag{{Key: "k", Value: "v"}}},
		tags: &snapshot.DescribeTagsOutput{Tags: []snapshot.TagInfo{
			{ResourceID: "snap-1", Key: "a", Value: "1"}, {ResourceID: "snap-1", Key: "b", Value: ""}},
		},
	}
	h, err := New(Options{Service: stub, Keys: nil, Region: "eu-west-3"})
	if err == nil || h != nil {
		t.Fatal("New without Keys succeeded")
	}
	h = &Handler{svc: stub, region: "eu-west-3"}

	got, err := h.describeSnapshots(goldenCall(t, "Action=DescribeSnapshots&Version=2016-11-15"))
	checkGolden(t, "DescribeSnapshots", got, err, hdr+
		`<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+reqID+`</requestId><snapshotSet>`+
		`<item><snapshotId>snap-0dc8cbb74ea020f7c</snapshotId><volumeId>vol-ffffffff</volumeId><status>completed</status>`+
		`<startTime>2026-09-25T13:19:43.497Z</startTime><progress>100%</progress><ownerId>111111111111</ownerId><volumeSize>1</volumeSize>`+
		`<description>d &amp; &lt;e&gt; &quot;q&quot; &apos;a&apos;&#x9;x&#xA;</description><encrypted>true</encrypted>`+
		`<kmsKeyId>arn:aws:kms:us-east-1:111111111111:key/k</kmsKeyId>`+
		`<tagSet><item><key>suite</key><value>a&amp;b</value></item><item><key>empty</key><value></value></item></tagSet>`+
		`<storageTier>standard</storageTier><transferType>standard</transferType>`+
		`<completionTime>2026-09-25T13:19:44.999Z</completionTime><fullSnapshotSizeInBytes>524288</fullSnapshotSizeInBytes></item>`+
		`<item><snapshotId>snap-00000001</snapshotId><volumeId>vol-ffffffff</volumeId><status>error</status><statusMessage>Snapshot timed out</statusMessage>`+
		`<startTime>2026-09-25T13:19:44.497Z</startTime><progress>0%</progress><ownerId>111111111111</ownerId><volumeSize>16384</volumeSize>`+
		`<description></description><encrypted>false</encrypted><storageTier>standard</storageTier><transferType>standard</transferType></item>`+
		`</snapshotSet><nextToken>tok/+=</nextToken></DescribeSnapshotsResponse>`)

	stub.describe = &snapshot.DescribeOutput{}
	got, err = h.describeSnapshots(goldenCall(t, "Action=DescribeSnapshots&Version=2016-11-15"))
	checkGolden(t, "DescribeSnapshots, empty", got, err, hdr+
		`<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+reqID+`</requestId><snapshotSet></snapshotSet></DescribeSnapshotsResponse>`)

	for _, action := range []string{"DeleteSnapshot", "CreateTags", "DeleteTags"} {
		serve := map[string]func(*call) ([]byte, error){"DeleteSnapshot": h.deleteSnapshot, "CreateTags": h.createTags, "DeleteTags": h.deleteTags}[action]
		got, err = serve(goldenCall(t, "SnapshotId=snap-1&ResourceId.1=snap-1&Tag.1.Key=a"))
		checkGolden(t, action, got, err, hdr+
			`<`+action+`Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+reqID+`</requestId><return>true</return></`+action+`Response>`)
	}

	got, err = h.copySnapshot(goldenCall(t, "SourceRegion=eu-west-3&SourceSnapshotId=snap-1"))
	checkGolden(t, "CopySnapshot", got, err, hdr+
		`<CopySnapshotResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+reqID+`</requestId><snapshotId>snap-080d1bc5d0346cbcb</snapshotId>`+
		`<tagSet><item><key>k</key><value>v</value></item></tagSet></CopySnapshotResponse>`)
	stub.copied = &snapshot.CopyOutput{SnapshotID: "snap-080d1bc5d0346cbcb"}
	got, err = h.copySnapshot(goldenCall(t, "SourceRegion=eu-west-3&SourceSnapshotId=snap-1"))
	checkGolden(t, "CopySnapshot, no tags", got, err, hdr+
		`<CopySnapshotResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+reqID+`</requestId><snapshotId>snap-080d1bc5d0346cbcb</snapshotId></CopySnapshotResponse>`)

	got, err = h.describeTags(goldenCall(t, ""))
	checkGolden(t, "DescribeTags", got, err, hdr+
		`<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+reqID+`</requestId><tagSet>`+
		`<item><resourceId>snap-1</resourceId><resourceType>snapshot</resourceType><key>a</key><value>1</value></item>`+
		`<item><resourceId>snap-1</resourceId><resourceType>snapshot</resourceType><key>b</key><value></value></item>`+
		`</tagSet></DescribeTagsResponse>`)

	got, err = h.describeRegions(goldenCall(t, "AllRegions=true"))
	checkGolden(t, "DescribeRegions", got, err, hdr+
		`<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+reqID+`</requestId><regionInfo>`+
		`<item><regionName>eu-west-3</regionName><regionEndpoint>127.0.0.1:8450</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>`+
		`</regionInfo></DescribeRegionsResponse>`)
	got, err = h.describeRegions(goldenCall(t, "Filter.1.Name=region-name&Filter.1.Value.1=us-*"))
	checkGolden(t, "DescribeRegions, filtered out", got, err, hdr+
		`<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`+reqID+`</requestId><regionInfo></regionInfo></DescribeRegionsResponse>`)

	got, err = h.getCallerIdentity(goldenCall(t, ""))
	checkGolden(t, "GetCallerIdentity", got, err, hdr+
		`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
		`<Arn>arn:aws:iam::111111111111:root</Arn><UserId>111111111111</UserId><Account>111111111111</Account>`+
		`</GetCallerIdentityResult><ResponseMetadata><RequestId>`+reqID+`</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
}

// TestGoldenErrors pins the two error documents (docs/ec2-api.md §4.1,
// §5.8): EC2's Response/Errors/Error with RequestID, STS's ErrorResponse
// with a Type and RequestId.
func TestGoldenErrors(t *testing.T) {
	checkGolden(t, "EC2 error", ec2Error("InvalidSnapshot.NotFound", "The snapshot 'snap-1' does not exist.", reqID), nil, hdr+
		`<Response><Errors><Error><Code>InvalidSnapshot.NotFound</Code><Message>The snapshot &apos;snap-1&apos; does not exist.</Message></Error></Errors>`+
		`<RequestID>`+reqID+`</RequestID></Response>`)
	checkGolden(t, "STS error", stsError("InvalidClientTokenId", "The security token included in the request is invalid.", reqID, 403), nil, hdr+
		`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>`+
		`<Message>The security token included in the request is invalid.</Message></Error><RequestId>`+reqID+`</RequestId></ErrorResponse>`)
	checkGolden(t, "STS server error", stsError("InternalFailure", "x", reqID, 500), nil, hdr+
		`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Receiver</Type><Code>InternalFailure</Code>`+
		`<Message>x</Message></Error><RequestId>`+reqID+`</RequestId></ErrorResponse>`)
}

// TestEscapeInvalid: what XML 1.0 cannot carry becomes U+FFFD, so the
// document always parses.
func TestEscapeInvalid(t *testing.T) {
	got := string(appendEscaped(nil, "a\x00b\x1fc\xffd\uFFFEe€"))
	if want := "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe€"; got != want {
		t.Fatalf("escaped %q, want %q", got, want)
	}
}
