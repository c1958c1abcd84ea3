// Package snapshot is the EBS direct API service: snapshot lifecycle
// (pending, completed, error and the idle timeout), lineage, per-block and
// aggregate checksums, ClientToken idempotency, block and page tokens,
// encryption at rest, and every validation rule of the API.
//
// It knows nothing of HTTP: the wire layer (package api) turns requests into
// the inputs of input.go and the outputs and *ebs.Error values back into
// responses. It reaches storage only through the interfaces of package
// store.
package snapshot
