package snapshot

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ebsd/ebsd/internal/ebs"
)

// EC2 tells three kinds of bad snapshot ID apart (docs/ec2-api.md §4.2):
// a well-formed one that does not exist (InvalidSnapshot.NotFound), one
// with lowercase hex of the wrong length (InvalidSnapshotID.Malformed),
// and anything else (InvalidParameterValue).
var (
	ec2SnapshotIDRE = regexp.MustCompile(`^snap-([0-9a-f]{8}|[0-9a-f]{17})$`)
	ec2HexIDRE      = regexp.MustCompile(`^snap-[0-9a-f]*$`)
)

// checkEC2SnapshotID checks the form of a snapshot ID given to an EC2
// operation as member param (e.g. "snapshotId").
func checkEC2SnapshotID(op, param, id string) error {
	switch {
	case ec2SnapshotIDRE.MatchString(id):
		return nil
	case ec2HexIDRE.MatchString(id):
		return ebs.E(op, ebs.KindInvalid, ebs.ReasonMalformedSnapshotID, "Invalid id: %q", id)
	default:
		return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"Value (%s) for parameter %s is invalid. Expected: 'snap-...'.", id, param)
	}
}

// missing is EC2's MissingParameter error.
func missing(op, param string) error {
	return ebs.E(op, ebs.KindInvalid, ebs.ReasonMissingParameter,
		"The request must contain the parameter %s", param)
}

// The page sizes of EC2's describe operations.
const (
	minDescribeResults = 5
	maxDescribeResults = 1000
)

// describeLimit checks MaxResults of a describe operation: absent means
// every result on one page (0), below 5 is refused, above 1000 is 1000
// (docs/ec2-api.md §5.1.2).
func describeLimit(op string, maxResults *int64) (int, error) {
	switch {
	case maxResults == nil:
		return 0, nil
	case *maxResults < minDescribeResults:
		return 0, ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than %d.", *maxResults, minDescribeResults)
	case *maxResults > maxDescribeResults:
		return maxDescribeResults, nil
	}
	return int(*maxResults), nil
}

// invalidNextToken is EC2's InvalidPaginationToken error.
func invalidNextToken(op string, err error) error {
	e := ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidPageToken,
		"The specified pagination token is not valid or is expired. Repeat the request without NextToken, with the same filters as the request that returned it.")
	e.Err = err
	return e
}

// checkEC2Tags checks tags given to CreateTags or CopySnapshot: EC2 allows
// values of up to 256 characters (EBS direct: 255) and 50 tags per
// snapshot.
func checkEC2Tags(op string, tags []ebs.Tag) error {
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		switch {
		case t.Key == "":
			return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue, "Tag keys must not be empty.")
		case len([]rune(t.Key)) > 127:
			return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
				"Tag key exceeds the maximum length of 127 characters: %s", truncate(t.Key, 40))
		case len([]rune(t.Value)) > 256:
			return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
				"Tag value exceeds the maximum length of 256 characters (key %s).", truncate(t.Key, 40))
		case hasAWSPrefix(t.Key):
			return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
				"Tag keys starting with 'aws:' are reserved for internal use: %s", t.Key)
		case seen[t.Key]:
			return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
				"Duplicate tag key '%s' specified; tag keys must be unique.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func hasAWSPrefix(key string) bool { return strings.HasPrefix(strings.ToLower(key), "aws:") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s...", s[:n])
}
