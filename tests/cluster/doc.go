// Package cluster holds end-to-end tests of ebsd in distributed mode:
// several ebsd processes on one PostgreSQL database and one bucket of
// S3-compatible storage (MinIO), started, killed and restarted as a
// deployment would see them. It has no code outside its tests.
package cluster
