// Package s3test gives tests an S3-compatible object store: a server
// started once per test binary on a loopback port, over a temporary
// directory, and stopped when the binary's tests end; or the server named
// by EBSD_TEST_S3, when set. Each test takes a bucket of its own from it
// (Server.NewBucket), so that tests run in parallel on one server.
//
// Two engines can be started: MinIO, the default, and versitygw (the
// Versity S3 Gateway over its posix backend). Start returns the default
// server, MinIO unless EBSD_TEST_S3_ENGINE=versitygw; StartEngine returns
// the server of the engine named, for tests that run against both;
// Server.Engine tells them apart.
//
// A package whose tests use it runs them through Main:
//
//	func TestMain(m *testing.M) { s3test.Main(m) }
//
// The programs are found on PATH or in $(go env GOPATH)/bin;
// scripts/install-minio.sh and scripts/install-versitygw.sh build them
// there. Without one the tests that need it skip, with the reason, unless
// CI is set: then they fail, since CI must test them.
package s3test
