#!/usr/bin/env bash
# Checks what deploy/ ships, as far as this machine can without a container
# engine or a running systemd:
#  - deploy/ebsd.service with systemd-analyze verify (ExecStart pointed
#    at the binary built here) and its exposure score;
#  - deploy/Containerfile: its golang image pins go.mod's Go version, and
#    its build step, run here as written, gives static binaries (no ELF
#    interpreter: they run on distroless/static) that start.
# It takes a minute or two (a full build without cgo); CI does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

gover=$(awk '$1 == "go" {print $2; exit}' go.mod)
if ! grep -q "^FROM docker.io/library/golang:${gover}-" deploy/Containerfile; then
	echo "deploy/Containerfile: its golang image is not go.mod's Go ${gover}"; fail=1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The Containerfile's RUN line, flags and all.
for cmd in ebsd ebs; do
	CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$out/$cmd" "./cmd/$cmd"
	if readelf -l "$out/$cmd" | grep -q INTERP; then
		echo "deploy/Containerfile: $cmd is dynamically linked; distroless/static has no libc"; fail=1
	fi
	"$out/$cmd" --version
done

if command -v systemd-analyze >/dev/null; then
	# The unit as shipped, but for ExecStart naming the binary just built.
	sed "s|/usr/local/bin/ebsd|$out/ebsd|" deploy/ebsd.service > "$out/ebsd.service"
	if ! systemd-analyze verify "$out/ebsd.service"; then
		echo "deploy/ebsd.service: systemd-analyze verify failed"; fail=1
	fi
	systemd-analyze security --offline=true "$out/ebsd.service" 2>/dev/null | tail -1 || true
else
	echo "systemd-analyze not installed: the unit is not checked"
fi
[ $fail = 0 ] && echo "deploy: ok"
exit $fail
