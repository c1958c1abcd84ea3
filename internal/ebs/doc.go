// Package ebs is the domain vocabulary of ebsd: block geometry, digests,
// snapshot status, tags, and the one error type every layer speaks.
//
// It imports only the standard library so that every other package (the
// wire layer, the snapshot service, the storage interfaces and their
// backends, the client) can depend on it without pulling anything else in.
package ebs
