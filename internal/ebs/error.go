package ebs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it. The wire
// layer maps each Kind to exactly one AWS error type and HTTP status.
//
// Do not reorder this list: new kinds are added only at the end.
type Kind uint8

// The kinds of error.
const (
	KindInternal            Kind = iota // a fault of the server; retrying may help
	KindInvalid                         // a request the service refuses (ValidationException with a Reason)
	KindInvalidField                    // a request member violates its modelled constraint (framework ValidationException)
	KindNotFound                        // the resource does not exist or is not visible to the caller
	KindConflict                        // a ClientToken was reused with different parameters
	KindAccessDenied                    // the caller may not do this
	KindBadSignature                    // SigV4 signature or block checksum does not match (InvalidSignatureException)
	KindUnknownClient                   // the access key is not known (UnrecognizedClientException)
	KindMissingAuth                     // the request carries no credentials (MissingAuthenticationTokenException)
	KindThrottled                       // too many requests for one resource
	KindQuotaExceeded                   // a service quota does not allow the request
	KindConcurrentLimit                 // too many concurrent pending snapshots
	KindUnknownOperation                // no operation matches the method and path
	KindUnavailable                     // the server is shutting down or overloaded; retry
	KindIncompleteSignature             // the Authorization header is malformed (IncompleteSignatureException)
	KindSerialization                   // the request body is not JSON of the right shape (SerializationException)
	KindAccountThrottled                // too many requests for one account (ThrottlingException)
)

var kindNames = [...]string{
	KindInternal:            "internal",
	KindInvalid:             "invalid",
	KindInvalidField:        "invalid field",
	KindNotFound:            "not found",
	KindConflict:            "conflict",
	KindAccessDenied:        "access denied",
	KindBadSignature:        "bad signature",
	KindUnknownClient:       "unknown client",
	KindMissingAuth:         "missing authentication",
	KindThrottled:           "throttled",
	KindQuotaExceeded:       "quota exceeded",
	KindConcurrentLimit:     "concurrent limit",
	KindUnknownOperation:    "unknown operation",
	KindUnavailable:         "unavailable",
	KindIncompleteSignature: "incomplete signature",
	KindSerialization:       "serialization",
	KindAccountThrottled:    "account throttled",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Reason is the AWS Reason enum value carried by some error types.
type Reason string

// Reasons of ValidationException.
const (
	ReasonInvalidCustomerKey     Reason = "INVALID_CUSTOMER_KEY"
	ReasonInvalidPageToken       Reason = "INVALID_PAGE_TOKEN"
	ReasonInvalidBlockToken      Reason = "INVALID_BLOCK_TOKEN"
	ReasonInvalidSnapshotID      Reason = "INVALID_SNAPSHOT_ID"
	ReasonUnrelatedSnapshots     Reason = "UNRELATED_SNAPSHOTS"
	ReasonInvalidBlock           Reason = "INVALID_BLOCK"
	ReasonInvalidTag             Reason = "INVALID_TAG"
	ReasonInvalidParameterValue  Reason = "INVALID_PARAMETER_VALUE"
	ReasonInvalidVolumeSize      Reason = "INVALID_VOLUME_SIZE"
	ReasonConflictingBlockUpdate Reason = "CONFLICTING_BLOCK_UPDATE"
	ReasonWriteRequestTimeout    Reason = "WRITE_REQUEST_TIMEOUT"
)

// Reasons of ResourceNotFoundException, AccessDeniedException and
// RequestThrottledException.
const (
	ReasonSnapshotNotFound       Reason = "SNAPSHOT_NOT_FOUND"
	ReasonUnauthorizedAccount    Reason = "UNAUTHORIZED_ACCOUNT"
	ReasonDependencyAccessDenied Reason = "DEPENDENCY_ACCESS_DENIED"
	ReasonResourceLevelThrottle  Reason = "RESOURCE_LEVEL_THROTTLE"
)

// Reasons that only the EC2 Query API shows, each as its own error code
// there (docs/ec2-api.md §4.2); the EBS direct operations never return them.
const (
	ReasonMalformedSnapshotID         Reason = "MALFORMED_SNAPSHOT_ID"         // InvalidSnapshotID.Malformed
	ReasonInvalidParameterCombination Reason = "INVALID_PARAMETER_COMBINATION" // InvalidParameterCombination
	ReasonMissingParameter            Reason = "MISSING_PARAMETER"             // MissingParameter
	ReasonTagLimitExceeded            Reason = "TAG_LIMIT_EXCEEDED"            // TagLimitExceeded
	ReasonInvalidResourceID           Reason = "INVALID_RESOURCE_ID"           // InvalidID
)

// Error is the error type of ebsd. Message is written for the client and is
// sent on the wire; Err is the cause, logged but never sent.
type Error struct {
	Op      string // the operation, e.g. "PutSnapshotBlock"
	Kind    Kind
	Reason  Reason // the AWS Reason, or "" when the error type has none
	Message string // what happened, for the client
	Err     error  // the underlying cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E returns a new *Error.
func E(op string, kind Kind, reason Reason, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a new *Error of the given kind with err as its cause.
func Wrap(op string, kind Kind, err error, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the Kind of the first *Error in err's chain, or
// KindInternal when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ReasonOf returns the Reason of the first *Error in err's chain.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// SnapshotNotFound is the error for a snapshot that does not exist, is not
// visible to the caller, or is not readable in its current status.
func SnapshotNotFound(op, id string) *Error {
	return E(op, KindNotFound, ReasonSnapshotNotFound, "The snapshot '%s' does not exist.", id)
}
