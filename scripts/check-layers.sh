#!/usr/bin/env bash
# Fails when a package imports across the layers, which point one way:
# cmd -> api -> snapshot -> store <- backends, everything -> ebs.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
fail=0

# deny PKG PATTERN WHY: PKG (non-test) must not depend on anything matching PATTERN.
deny() {
	local pkg=$1 pattern=$2 why=$3 bad
	bad=$(go list -deps "$mod/$pkg" | grep -E "$pattern" || true)
	if [ -n "$bad" ]; then
		echo "layering: $pkg must not import $pattern ($why):"; echo "$bad" | sed 's/^/  /'
		fail=1
	fi
}

deny internal/ebs "^$mod/" "ebs is the leaf vocabulary"
deny internal/store "^$mod/internal/(api|snapshot|server|store/)" "the storage interfaces know only ebs"
deny internal/snapshot "^net/http$|^$mod/internal/(api|server|sigv4|store/)|aws-sdk|pebble" "the service knows no HTTP and no backend"
deny internal/api "^$mod/internal/(store|server)|pebble" "the wire layer knows nothing of storage"
deny internal/sigv4 "^$mod/internal/(api|snapshot|store|server)" "sigv4 is stdlib only"
deny internal/pack "^$mod/internal/(store|snapshot|api)" "the pack format knows no storage"
for b in packblocks pebblemeta memstore; do
	deny internal/store/$b "^$mod/internal/(api|snapshot|server|sigv4)" "backends store and retrieve"
done
exit $fail
