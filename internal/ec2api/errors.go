package ec2api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// failure is one kind of error answer. Every error written goes through
// wireErrors, THE table from failure to code and status; classify maps
// the service's *ebs.Error (Kind and Reason) and the verifier's refusals
// onto it.
type failure uint8

// The failures. New ones go anywhere: the values are never stored.
const (
	fInternal failure = iota
	fInvalidParameterValue
	fMissingParameter
	fInvalidParameterCombination
	fUnknownParameter
	fMalformedQueryString
	fMissingAction
	fInvalidAction
	fNoSuchVersion
	fRequestTooLarge
	fRequestTimeout
	fSnapshotNotFound
	fMalformedSnapshotID
	fInvalidID
	fTagLimitExceeded
	fInvalidPaginationToken
	fIdempotentParameterMismatch
	fDryRun
	fAccessDenied
	fResourceLimitExceeded
	fRequestLimitExceeded
	fUnavailable
	fUnknownAccessKey
	fSignatureDoesNotMatch
	fMissingAuthenticationToken
	fIncompleteSignature
	fRequestExpired
	numFailures
)

// wireError is how one failure goes on the wire. EC2 and STS spell a few
// authentication failures differently (docs/ec2-api.md §4.3).
type wireError struct {
	Code   string // the EC2 error code
	Status int
	// STSCode and STSStatus replace Code and Status in an STS answer when
	// they are set.
	STSCode   string
	STSStatus int
}

// wireErrors is THE table from failure to the wire. Sources are in
// docs/ec2-api.md §4.2 and §4.3.
var wireErrors = [numFailures]wireError{
	fInternal:                    {Code: "InternalError", Status: http.StatusInternalServerError, STSCode: "InternalFailure"},
	fInvalidParameterValue:       {Code: "InvalidParameterValue", Status: http.StatusBadRequest},
	fMissingParameter:            {Code: "MissingParameter", Status: http.StatusBadRequest},
	fInvalidParameterCombination: {Code: "InvalidParameterCombination", Status: http.StatusBadRequest},
	fUnknownParameter:            {Code: "UnknownParameter", Status: http.StatusBadRequest},
	fMalformedQueryString:        {Code: "MalformedQueryString", Status: http.StatusBadRequest},
	fMissingAction:               {Code: "MissingAction", Status: http.StatusBadRequest},
	fInvalidAction:               {Code: "InvalidAction", Status: http.StatusBadRequest},
	fNoSuchVersion:               {Code: "NoSuchVersion", Status: http.StatusBadRequest},
	fRequestTooLarge:             {Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge},
	fRequestTimeout:              {Code: "RequestTimeout", Status: http.StatusBadRequest},
	fSnapshotNotFound:            {Code: "InvalidSnapshot.NotFound", Status: http.StatusBadRequest},
	fMalformedSnapshotID:         {Code: "InvalidSnapshotID.Malformed", Status: http.StatusBadRequest},
	fInvalidID:                   {Code: "InvalidID", Status: http.StatusBadRequest},
	fTagLimitExceeded:            {Code: "TagLimitExceeded", Status: http.StatusBadRequest},
	fInvalidPaginationToken:      {Code: "InvalidPaginationToken", Status: http.StatusBadRequest},
	fIdempotentParameterMismatch: {Code: "IdempotentParameterMismatch", Status: http.StatusBadRequest},
	fDryRun:                      {Code: "DryRunOperation", Status: http.StatusPreconditionFailed},
	fAccessDenied:                {Code: "AuthFailure", Status: http.StatusForbidden, STSCode: "AccessDenied"},
	fResourceLimitExceeded:       {Code: "ResourceLimitExceeded", Status: http.StatusBadRequest},
	// botocore's legacy retry mode retries RequestLimitExceeded only with
	// 503; the standard mode and the other SDKs retry it by code.
	fRequestLimitExceeded: {Code: "RequestLimitExceeded", Status: http.StatusServiceUnavailable, STSCode: "Throttling", STSStatus: http.StatusBadRequest},
	fUnavailable:          {Code: "Unavailable", Status: http.StatusServiceUnavailable, STSCode: "ServiceUnavailable"},
	// Authentication. EC2 answers an unknown key, and a bad signature, in
	// its own words; STS uses the words every awsQuery service uses.
	fUnknownAccessKey:           {Code: "AuthFailure", Status: http.StatusUnauthorized, STSCode: "InvalidClientTokenId", STSStatus: http.StatusForbidden},
	fSignatureDoesNotMatch:      {Code: "SignatureDoesNotMatch", Status: http.StatusForbidden},
	fMissingAuthenticationToken: {Code: "MissingAuthenticationToken", Status: http.StatusForbidden},
	fIncompleteSignature:        {Code: "IncompleteSignature", Status: http.StatusBadRequest},
	fRequestExpired:             {Code: "RequestExpired", Status: http.StatusBadRequest, STSCode: "SignatureDoesNotMatch", STSStatus: http.StatusForbidden},
}

// row returns the code and status of f in the answer of api.
func (f failure) row(a apiName) (code string, status int) {
	if f >= numFailures {
		f = fInternal
	}
	w := wireErrors[f]
	code, status = w.Code, w.Status
	if a == apiSTS {
		if w.STSCode != "" {
			code = w.STSCode
		}
		if w.STSStatus != 0 {
			status = w.STSStatus
		}
	}
	return code, status
}

// Messages that do not come from the service.
const (
	msgInternal      = "An internal error has occurred. Please try again."
	msgDryRun        = "Request would have succeeded, but DryRun flag is set."
	msgThrottled     = "Request limit exceeded."
	msgUnknownKey    = "AWS was not able to validate the provided access credentials"
	msgUnknownKeySTS = "The security token included in the request is invalid."
	msgExpired       = "Request has expired."
	msgMissingAuth   = "Request is missing Authentication Token"
)

// localError is an error the wire layer finds itself, not the service:
// its failure and the message to send.
type localError struct {
	f   failure
	msg string
}

func (e *localError) Error() string { return e.msg }

// wireErr returns an error answered as f with the formatted message.
func wireErr(f failure, format string, args ...any) error {
	return &localError{f: f, msg: fmt.Sprintf(format, args...)}
}

// classify returns how err is answered in api's words. A service error
// goes by its Kind and, for KindInvalid, its Reason. An internal error's
// cause is never sent: the message is generic and the caller logs err.
func classify(err error, a apiName) (failure, string) {
	var w *localError
	if errors.As(err, &w) {
		return w.f, w.msg
	}
	var e *ebs.Error
	if !errors.As(err, &e) {
		return fInternal, msgInternal
	}
	switch e.Kind {
	case ebs.KindNotFound:
		return fSnapshotNotFound, e.Message
	case ebs.KindInvalid, ebs.KindInvalidField, ebs.KindSerialization:
		return invalidFailure(e.Reason), e.Message
	case ebs.KindAccessDenied:
		return fAccessDenied, e.Message
	case ebs.KindConflict:
		return fIdempotentParameterMismatch, e.Message
	case ebs.KindConcurrentLimit, ebs.KindQuotaExceeded:
		return fResourceLimitExceeded, e.Message
	case ebs.KindThrottled, ebs.KindAccountThrottled:
		return fRequestLimitExceeded, msgThrottled
	case ebs.KindUnavailable:
		return fUnavailable, e.Message
	case ebs.KindUnknownOperation:
		return fInvalidAction, e.Message
	case ebs.KindUnknownClient:
		if a == apiSTS {
			return fUnknownAccessKey, msgUnknownKeySTS
		}
		return fUnknownAccessKey, msgUnknownKey
	case ebs.KindMissingAuth:
		return fMissingAuthenticationToken, msgMissingAuth
	case ebs.KindIncompleteSignature:
		return fIncompleteSignature, e.Message
	case ebs.KindBadSignature:
		// A request dated too far from our clock is RequestExpired on
		// EC2; STS says SignatureDoesNotMatch with the verifier's
		// "Signature expired: ..." message.
		if f := sigv4.FailureOf(err); f != nil && f.Cause == sigv4.CauseClockSkew && a == apiEC2 {
			return fRequestExpired, msgExpired
		}
		return fSignatureDoesNotMatch, e.Message
	}
	return fInternal, msgInternal
}

// invalidFailure maps the Reason of a refused request to its EC2 code.
func invalidFailure(r ebs.Reason) failure {
	switch r {
	case ebs.ReasonMalformedSnapshotID:
		return fMalformedSnapshotID
	case ebs.ReasonInvalidParameterCombination:
		return fInvalidParameterCombination
	case ebs.ReasonMissingParameter:
		return fMissingParameter
	case ebs.ReasonTagLimitExceeded:
		return fTagLimitExceeded
	case ebs.ReasonInvalidResourceID:
		return fInvalidID
	case ebs.ReasonInvalidPageToken:
		return fInvalidPaginationToken
	}
	return fInvalidParameterValue
}
