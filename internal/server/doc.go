// Package server assembles an ebsd server from its configuration: it opens
// the embedded stores in the data directory, builds the snapshot service
// and the wire layer with SigV4 authentication, and serves them next to
// /healthz and /metrics. cmd/ebsd runs it; end-to-end tests run it
// in-process on a loopback port.
package server
