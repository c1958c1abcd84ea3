// Package ebstest starts real ebsd servers for tests: in-process on a
// loopback port, over a data directory that survives restarts, with an
// injectable clock, and hands out official aws-sdk-go-v2 EBS clients
// pointed at them. It is imported only by _test packages.
package ebstest
