package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// explain turns an error into a message that says what happened and what
// to do, for the most common failures.
func explain(err error) string {
	if a, ok := err.(advisedError); ok {
		return explain(errors.Unwrap(err)) + "\n  " + a.Advice()
	}
	if msg, ok := explainEC2(err); ok {
		return msg
	}
	msg := err.Error()
	var ae smithy.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &ae):
		switch ae.ErrorCode() {
		case "UnrecognizedClientException", "InvalidClientTokenId":
			return msg + "\n  The access key is not known to the service: check AWS_ACCESS_KEY_ID / --profile (for ebsd, the credentials file it printed on first start)."
		case "InvalidSignatureException", "SignatureDoesNotMatch":
			if strings.Contains(ae.ErrorMessage(), "x-amz-Checksum") {
				return msg + "\n  A block changed while it was being sent, or the network corrupted it; retry."
			}
			return msg + "\n  The secret key does not match the access key, or this machine's clock is off by more than 15 minutes."
		case "AccessDeniedException":
			return msg + "\n  The credentials are valid but lack permission for this call (ebs:* actions, and kms:* for encrypted snapshots)."
		case "ResourceNotFoundException":
			return msg + "\n  Check the snapshot ID, the region (--region) and the endpoint (--endpoint-url); only completed snapshots can be read."
		}
	case errors.As(err, new(x509.HostnameError)):
		return msg + "\n  The endpoint's TLS certificate is not for this host name: use a name it was issued for in --endpoint-url."
	case errors.As(err, new(x509.CertificateInvalidError)):
		return msg + "\n  The endpoint's TLS certificate is expired, not yet valid or unusable: check the server's certificate and this machine's clock."
	case errors.As(err, new(*tls.CertificateVerificationError)), errors.As(err, new(x509.UnknownAuthorityError)):
		return msg + "\n  The endpoint's TLS certificate is not signed by a trusted CA (self-signed, or a private CA): pass --ca-bundle FILE with that CA's PEM" +
			" (for ebsd, the file given to -tls-cert), or set AWS_CA_BUNDLE or ca_bundle in the profile."
	case errors.As(err, new(tls.RecordHeaderError)), strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return msg + "\n  The endpoint does not speak TLS: use http:// in --endpoint-url (or serve TLS: ebsd -tls-cert/-tls-key)."
	case isBare400(err):
		return msg + "\n  The endpoint answered 400 without an AWS error, as a TLS server answers plain HTTP: if it serves TLS, use https:// in --endpoint-url."
	case errors.Is(err, syscall.ECONNREFUSED):
		return msg + "\n  Nothing is listening at the endpoint: is ebsd running, and is --endpoint-url right?"
	case isDNS(err):
		return msg + "\n  The endpoint's host name does not resolve: check --endpoint-url and --region."
	case errors.Is(err, os.ErrNotExist):
		return msg + "\n  Check the path."
	}
	if strings.Contains(msg, "no EC2 IMDS role found") || strings.Contains(msg, "failed to retrieve credentials") {
		return msg + "\n  No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile."
	}
	return msg
}

// isBare400 reports whether err is a 400 answer that carries no AWS
// error: not the EBS API speaking, most likely a TLS server that was sent
// plain HTTP (its message is often lost to a reset connection).
func isBare400(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusBadRequest
}

func isDNS(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}

// advisedError is an error that carries advice of its own, shown after the
// explanation of its cause: e.g. that the snapshot an upload started is
// still pending and how to continue it.
type advisedError interface {
	error
	Unwrap() error
	Advice() string
}
