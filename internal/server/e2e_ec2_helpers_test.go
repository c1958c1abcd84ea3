package server_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// ec2Config is the SDK configuration of cred against an ebstest server.
func ec2Config(cred ebscreds.Credential) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: awscreds.NewStaticCredentialsProvider(cred.AccessKeyID, cred.SecretAccessKey, ""),
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
	}
}

// ec2Client returns an official EC2 client for cred, SDK retries off.
func ec2Client(s *ebstest.Server, cred ebscreds.Credential) *ec2.Client {
	return ec2.NewFromConfig(ec2Config(cred), func(o *ec2.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.RetryMaxAttempts = 1
	})
}

// stsClient returns an official STS client for cred, SDK retries off.
func stsClient(s *ebstest.Server, cred ebscreds.Credential) *sts.Client {
	return sts.NewFromConfig(ec2Config(cred), func(o *sts.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.RetryMaxAttempts = 1
	})
}

// checkEC2Error checks err's status and code, and that its message
// contains msg, as a Go SDK user sees them.
func checkEC2Error(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("success, want %d %s", status, code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	got := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		got = re.HTTPStatusCode()
	}
	if got != status || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error %d %s %q, want %d %s containing %q", got, ae.ErrorCode(), ae.ErrorMessage(), status, code, msg)
	}
}

// completedSnapshot makes a completed snapshot through EBS direct with
// the given blocks (index → fill byte), description and tags.
func completedSnapshot(t *testing.T, c *ebs.Client, in *ebs.StartSnapshotInput, blocks map[int32]byte) string {
	t.Helper()
	id := startSnapshot(t, c, in)
	data := map[int32][]byte{}
	for i, b := range blocks {
		data[i] = bytes.Repeat([]byte{b}, ebstest.BlockSize)
	}
	mustPut(t, c, id, data)
	if st := complete(t, c, id, int32(len(blocks)), ""); st != "completed" {
		t.Fatalf("snapshot %s is %s", id, st)
	}
	return id
}

// clientEnv is the environment of boto3 or the AWS CLI against s as cred,
// with no configuration of the machine's.
func clientEnv(s *ebstest.Server, cred ebscreds.Credential) []string {
	return append(os.Environ(), "EBSD_URL="+s.URL,
		"AWS_ACCESS_KEY_ID="+cred.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+cred.SecretAccessKey,
		"BOB_ACCESS_KEY_ID="+ebstest.Bob.AccessKeyID, "BOB_SECRET_ACCESS_KEY="+ebstest.Bob.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
}

// lookTool returns the path of a client tool, or skips the test when it is
// missing outside CI (where scripts/test.sh installs it).
func lookTool(t *testing.T, name, check string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil && check != "" {
		err = exec.Command(p, "-c", check).Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is needed for this test: %v", name, err)
		}
		t.Skipf("%s is not available: %v", name, err)
	}
	return p
}
