#!/usr/bin/env bash
# Runs every check and test of ebsd: formatting, vet, the layering rules,
# and the whole test suite with the race detector. It installs what the
# tests need (the AWS CLI, for the README's worked example) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v aws >/dev/null 2>&1; then
	echo "test.sh: installing the AWS CLI (the end-to-end CLI test needs it)"
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get update -qq && $SUDO apt-get install -y -qq awscli >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== layering"
scripts/check-layers.sh

echo "== go test -race"
go test -race -count=1 -timeout 15m ./...

# The race run makes only a few power cuts (the race detector slows
# everything ~10x); this run makes the CI-sized campaign. Long ones:
# go run ./cmd/ebsd-powerloss -points 10000.
echo "== power-loss campaign"
go test -count=1 -timeout 10m -run 'PowerLoss' ./internal/powerloss/ ./internal/store/packblocks/
