// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests,
// the way the EBS direct APIs do, and signs requests the same way for
// ebsd's own tests and tools.
//
// Only the header form is supported: an Authorization header of the shape
//
//	AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ebs/aws4_request,
//	SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// and an X-Amz-Date (or Date) header. Query-string ("presigned URL")
// authentication is refused with a clear error: no EBS SDK uses it.
//
// # Canonicalization
//
// The canonical request is rebuilt exactly as the official SDKs (Go,
// botocore/AWS CLI, JavaScript v3) build it for a non-S3 service:
//
//   - URI: the path as it arrived on the wire (r.RequestURI, or
//     r.URL.EscapedPath() for a request that did not come from a server),
//     percent-encoded once more, keeping only RFC 3986 unreserved bytes and
//     '/'. No dot-segment removal: EBS paths never contain any.
//   - Query: every key and value decoded, then re-encoded keeping only
//     unreserved bytes (uppercase hex), sorted by encoded key, then value.
//   - Headers: exactly the names listed in SignedHeaders, in that order;
//     host comes from r.Host, content-length from r.ContentLength when
//     the server removed the header; values are trimmed, runs of spaces
//     collapsed, and repeated headers joined with ",".
//   - Payload: the X-Amz-Content-Sha256 header verbatim when present
//     (UNSIGNED-PAYLOAD for PutSnapshotBlock), and then the signature is
//     checked before any body byte is read; otherwise the SHA-256 of the
//     body, which Verify reads (at most MaxBody, 64 KiB: the JSON
//     operations' bodies) and puts back. ParsePayloadHash is the one rule
//     for the header's value, shared with the wire layer.
//
// # Errors
//
// Every failure is an *ebs.Error whose Kind the wire layer maps to the AWS
// error type: KindMissingAuth, KindIncompleteSignature, KindUnknownClient
// or KindBadSignature. Messages follow AWS's wording. Neither the secret key
// nor the expected signature ever appears in an error.
package sigv4
