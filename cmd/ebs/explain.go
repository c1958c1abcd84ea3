package main

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/aws/smithy-go"
)

// explain turns an error into a message that says what happened and what
// to do, for the most common failures.
func explain(err error) string {
	if a, ok := err.(advisedError); ok {
		return explain(errors.Unwrap(err)) + "\n  " + a.Advice()
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
