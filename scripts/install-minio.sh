#!/usr/bin/env bash
# Builds the MinIO server that the S3 block store's tests run against
# (internal/s3test) into $(go env GOPATH)/bin, once: a second run finds it
# there and does nothing. It is built from source through the Go module
# proxy because no prebuilt binary can be downloaded here; the build takes
# about 3 minutes. The version is pinned so that CI tests what we tested.
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

bin="$(go env GOPATH)/bin"
stamp="$bin/.minio-version"
if [ -x "$bin/minio" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$MINIO_VERSION" ]; then
	exit 0
fi
echo "install-minio.sh: building minio $MINIO_VERSION (a few minutes)"
# -mod=mod: minio is installed by path@version, outside this module.
(cd / && GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION")
echo "$MINIO_VERSION" >"$stamp"
