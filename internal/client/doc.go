// Package client moves disk images in and out of snapshots through the EBS
// direct APIs, against ebsd or real AWS alike: parallel workers with pooled
// 512 KiB buffers, one retry policy (exponential backoff with jitter,
// per-attempt timeouts, a bounded total), zero-block policies, incremental
// uploads against a parent, resumable uploads and downloads, and checksum
// verification of everything read. cmd/ebs is its command-line front end.
//
// It talks to the service only through the API interface, which the
// official aws-sdk-go-v2 *ebs.Client satisfies; tests wrap it to inject
// throttling and dropped connections.
package client
