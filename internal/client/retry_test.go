package client_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ebsd/ebsd/internal/client"
)

// sendError wraps err as the SDK does a request that never got an answer.
func sendError(err error) error {
	return &smithy.OperationError{ServiceID: "EBS", OperationName: "ListSnapshotBlocks",
		Err: &smithyhttp.RequestSendError{Err: &url.Error{Op: "Get", URL: "https://ebsd.test/snapshots", Err: err}}}
}

func TestErrorClasses(t *testing.T) {
	tests := []struct {
		name                         string
		err                          error
		retryable, throttle, hopless bool
	}{
		{"RequestThrottledException", errThrottled(), true, true, false},
		{"ThrottlingException", opError("GetSnapshotBlock", 400, &smithy.GenericAPIError{Code: "ThrottlingException"}), true, true, false},
		{"503 SlowDown", opError("PutSnapshotBlock", 503, &smithy.GenericAPIError{Code: "SlowDown"}), true, true, false},
		{"503 without a code", opError("PutSnapshotBlock", 503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), true, true, false},
		{"429", opError("PutSnapshotBlock", 429, &smithy.GenericAPIError{Code: "TooManyRequests"}), true, true, false},
		{"500", errInternal(), true, false, false},
		{"RequestTimeout", opError("PutSnapshotBlock", 400, &smithy.GenericAPIError{Code: "RequestTimeout"}), true, false, false},
		{"connection reset", errConnReset(), true, false, false},
		{"400, body lost to a reset", opError("ListSnapshotBlocks", 400, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), false, false, false},
		{"408, body lost to a reset", opError("ListSnapshotBlocks", 408, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true, false, false},
		{"https to plain http", sendError(errors.New("http: server gave HTTP response to HTTPS client")), false, false, true},
		{"access denied", errAccessDenied(), false, false, false},
		{"not found", opError("GetSnapshotBlock", 404, &types.ResourceNotFoundException{}), false, false, false},
		{"unknown authority", sendError(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), false, false, true},
		{"wrong host name", sendError(&tls.CertificateVerificationError{Err: x509.HostnameError{Host: "localhost"}}), false, false, true},
		{"expired certificate", sendError(x509.CertificateInvalidError{Reason: x509.Expired}), false, false, true},
		{"TLS record header", sendError(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), false, false, true},
		{"unknown host", sendError(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "ebsd.test", IsNotFound: true}}), false, false, true},
		{"DNS timeout", sendError(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "i/o timeout", Name: "ebsd.test", IsTimeout: true}}), true, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := client.Retryable(tc.err); got != tc.retryable {
				t.Errorf("Retryable = %v, want %v", got, tc.retryable)
			}
			if got := client.IsThrottle(tc.err); got != tc.throttle {
				t.Errorf("IsThrottle = %v, want %v", got, tc.throttle)
			}
			if got := client.Hopeless(tc.err); got != tc.hopless {
				t.Errorf("Hopeless = %v, want %v", got, tc.hopless)
			}
		})
	}
}
