#!/usr/bin/env bash
# Runs every check and test of ebsd: formatting, vet, the layering rules,
# and the whole test suite with the race detector. It installs what the
# tests need when missing (the AWS CLI and openssl for the README's
# sessions, node and npm for the JavaScript SDK, boto3 for the Python one):
# with CI set those tests fail rather than skip. Every skipped test is
# listed, with its reason, before the last line, "tests: N passed, ...".
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v aws >/dev/null 2>&1 || missing+=(awscli)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
python3 -c 'import boto3' >/dev/null 2>&1 || missing+=(python3-boto3)
command -v nbdinfo >/dev/null 2>&1 || missing+=(libnbd-bin)   # nbdinfo, nbdcopy: ebs nbd's tests
command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)  # qemu-img, qemu-io: ebs nbd's tests
# internal/pgdb/pgtest starts throwaway clusters from these binaries.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
	echo "test.sh: installing ${missing[*]} (end-to-end tests need them)"
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The S3 block store's tests run against MinIO, built once from source
# into $(go env GOPATH)/bin (about 3 minutes the first time), and against
# versitygw too (about 1.5 minutes).
echo "== minio, versitygw"
scripts/install-minio.sh
scripts/install-versitygw.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== layering"
scripts/check-layers.sh

# The race run makes only a few power cuts (the race detector slows
# everything ~10x); this run makes the CI-sized campaign. Long ones:
# go run ./cmd/ebsd-powerloss -points 10000.
echo "== power-loss campaign"
go test -count=1 -timeout 10m -run 'PowerLoss' ./internal/powerloss/ ./internal/store/packblocks/

# Last, so that its skipped tests and counts end the output. The filter
# prints what plain go test would; pipefail keeps go test's exit status.
echo "== go test -race"
go build -o "${TMPDIR:-/tmp}/ebsd-gotestsummary.$$" ./scripts/gotestsummary
trap 'rm -f "${TMPDIR:-/tmp}/ebsd-gotestsummary.$$"' EXIT
go test -race -count=1 -timeout 15m -json ./... | "${TMPDIR:-/tmp}/ebsd-gotestsummary.$$"
