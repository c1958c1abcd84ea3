// Package api is the wire layer of ebsd: the only package that speaks HTTP
// and JSON. It serves the six EBS direct API operations (restJson1, API
// version 2019-11-02) so that the official AWS SDKs, pointed at ebsd with a
// custom endpoint, parse every response exactly as they parse real AWS.
//
// # Request flow
//
// [Handler.ServeHTTP] gives every request a request ID and a Date header,
// routes it by method and path (one route per operation, anything else is
// UnknownOperationException), authenticates it through the [Authenticator],
// turns the path, query, headers and body into the inputs of package
// snapshot and calls the [Service]. Members that travel in the path, the
// query or a header are passed as the raw text the request carried (nil when
// absent): the service validates all of them, so every validation rule lives
// in one place. The api parses only what is inherently wire: the JSON body
// of StartSnapshot and the signed payload hash (X-Amz-Content-Sha256).
//
// # Errors
//
// Every error, whatever its source (authentication, routing, decoding, the
// service), is written by one function from one table that maps an
// [ebs.Kind] to the AWS error type, HTTP status and body shape (errors.go).
// Clients type errors by the X-Amzn-ErrorType header, so it is always set,
// and error bodies are always JSON.
//
// # Streaming
//
// PutSnapshotBlock hands the request body to the service unbuffered, and
// GetSnapshotBlock writes the service's pooled buffer straight out, so a
// block is copied at most once in user space on either path.
package api
