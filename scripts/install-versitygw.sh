#!/usr/bin/env bash
# Builds versitygw, the second S3 engine the S3 block store's tests run
# against (internal/s3test, EBSD_TEST_S3_ENGINE=versitygw), into
# $(go env GOPATH)/bin, once: a second run finds it there and does nothing.
# Like MinIO it is built from source through the Go module proxy; the build
# takes about a minute and a half (75 s on 2 cores, downloads included).
# The version is pinned so that CI tests what we tested.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0

bin="$(go env GOPATH)/bin"
stamp="$bin/.versitygw-version"
if [ -x "$bin/versitygw" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$VERSITYGW_VERSION" ]; then
	exit 0
fi
echo "install-versitygw.sh: building versitygw $VERSITYGW_VERSION (a minute or two)"
# -mod=mod: versitygw is installed by path@version, outside this module.
(cd / && GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
echo "$VERSITYGW_VERSION" >"$stamp"
