package main

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/smithy-go"

	"github.com/ebsd/ebsd/internal/client"
)

// quotedSnapshot finds the snapshot ID in EC2's messages ("The snapshot
// 'snap-0123' does not exist.").
var quotedSnapshot = regexp.MustCompile(`snap-[0-9A-Za-z]+`)

// explainEC2 explains a failed EC2 API call (snapshots, tag, cp, rm, and
// the image size tag of info and download); ok is false for other
// errors, among them every EBS direct one (its 404 means something else).
func explainEC2(err error) (msg string, ok bool) {
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.ServiceID != "EC2" {
		return "", false
	}
	msg = err.Error()
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case client.EC2Unavailable(err):
		return msg + "\n  The endpoint does not serve the EC2 API: an ebsd older than snapshot management (DescribeSnapshots, DeleteSnapshot, CopySnapshot, CreateTags)" +
			" only uploads and downloads; upgrade it. Against AWS, check --endpoint-url and $AWS_ENDPOINT_URL_EC2.", true
	case code == "InvalidSnapshot.NotFound":
		return fmt.Sprintf("%s does not exist (or belongs to another account)\n  Check the ID, the region (--region) and the endpoint (--endpoint-url); "+
			"'ebs snapshots' lists yours.\n  (%s)", snapshotIn(err, ae, "snapshot %s", "a snapshot given"), msg), true
	case code == "InvalidSnapshotID.Malformed":
		return fmt.Sprintf("%s is not a valid snapshot ID: snap- and 8 or 17 lower-case hex digits\n  (%s)",
			snapshotIn(err, ae, "%s", "a snapshot ID given"), msg), true
	case code == "UnauthorizedOperation":
		return msg + "\n  The credentials are valid but lack permission for this EC2 call (ec2:DescribeSnapshots, ec2:DeleteSnapshot, ec2:CopySnapshot, " +
			"ec2:CreateTags, ec2:DeleteTags; kms:* for encrypted copies).", true
	case code == "AuthFailure":
		return msg + "\n  The service did not accept the credentials: check AWS_ACCESS_KEY_ID / --profile (for ebsd, the credentials file it printed on first start), " +
			"and that the key may use the KMS key, if one was given.", true
	case code == "TagLimitExceeded":
		return msg + "\n  A snapshot holds at most 50 tags: delete some first ('ebs tag SNAPSHOT --delete KEY').", true
	case code == "RequestLimitExceeded":
		return msg + "\n  The service is throttling EC2 calls: wait a moment and run the command again.", true
	}
	return "", false
}

// snapshotIn names the snapshot an EC2 error is about, formatted with
// named: the one the call was for, else the one its message names, else
// unnamed.
func snapshotIn(err error, ae smithy.APIError, named, unnamed string) string {
	var se *client.SnapshotError
	if errors.As(err, &se) {
		return fmt.Sprintf(named, se.ID)
	}
	if ae != nil {
		if id := quotedSnapshot.FindString(ae.ErrorMessage()); id != "" {
			return fmt.Sprintf(named, id)
		}
	}
	return unnamed
}
