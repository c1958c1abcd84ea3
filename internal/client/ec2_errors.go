package client

import (
	"errors"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// EC2Unavailable reports whether err says the endpoint does not serve the
// EC2 API at all: an ebsd older than its EC2 API answers POST / with 404
// UnknownOperationException (which the EC2 SDK, expecting XML, reports
// as a 404 UnknownError). EC2 itself never answers 404: its missing
// snapshot is a 400 InvalidSnapshot.NotFound.
func EC2Unavailable(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InvalidAction", "UnknownOperationException", "UnsupportedOperation":
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 404
}

// SnapshotError is a failed EC2 call on one snapshot: it names the
// snapshot, which EC2's own messages do not always do.
type SnapshotError struct {
	Op, ID string
	Err    error
}

func (e *SnapshotError) Error() string { return e.Op + " " + e.ID + ": " + e.Err.Error() }
func (e *SnapshotError) Unwrap() error { return e.Err }

// IsSnapshotNotFound reports whether err is EC2's answer for a snapshot
// that does not exist, which is also its answer for another account's.
func IsSnapshotNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidSnapshot.NotFound"
}
