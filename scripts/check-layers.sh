#!/usr/bin/env bash
# Fails when a package imports across the layers, which point one way:
# cmd -> api, ec2api -> snapshot -> store <- backends, everything -> ebs.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
fail=0

# check MODE PKG PATTERN WHY: PKG (non-test code) must not import anything
# matching PATTERN, directly (MODE=imports) or at all (MODE=deps).
check() {
	local mode=$1 pkg=$2 pattern=$3 why=$4 list bad
	if [ "$mode" = deps ]; then
		list=$(go list -deps "$mod/$pkg" | grep -vx "$mod/$pkg")
	else
		list=$(go list -f '{{join .Imports "\n"}}' "$mod/$pkg")
	fi
	bad=$(echo "$list" | grep -E "$pattern" || true)
	if [ -n "$bad" ]; then
		echo "layering: $pkg must not import $pattern ($why):"; echo "$bad" | sed 's/^/  /'
		fail=1
	fi
}

check deps internal/ebs "^$mod/" "ebs is the leaf vocabulary"
check deps internal/store "^$mod/internal/(api|snapshot|server|store/)" "the storage interfaces know only ebs"
check deps internal/snapshot "^net/http$|^$mod/internal/(api|server|sigv4|store/)|aws-sdk|pebble" "the service knows no HTTP and no backend"
check imports internal/api "^$mod/internal/(store|server)|pebble" "the wire layer knows nothing of storage"
check imports internal/ec2api "^$mod/internal/(store|server|api)|pebble" "the EC2 Query wire layer knows nothing of storage or the EBS direct wire"
check deps internal/gc "^$mod/internal/(api|ec2api|snapshot|server|store/)" "the collector knows only the storage interfaces"
check deps internal/sigv4 "^$mod/internal/(api|snapshot|store|server)" "sigv4 is stdlib only"
check deps internal/pack "^$mod/internal/(store|snapshot|api)" "the pack format knows no storage"
check deps internal/vfsdir "^$mod/internal/(api|snapshot|store|server)" "directory durability knows no storage"
check deps internal/throttle "^$mod/internal/(api|snapshot|store|server)" "rate limits know no requests or storage"
check deps internal/nbd "^$mod/" "the NBD protocol serves any Backend: standard library only"
check deps internal/inflight "^$mod/internal/(api|ec2api|snapshot|store|server)" "the in-flight bound is shared by both wire layers"
check deps internal/reqmetrics "^$mod/internal/(api|ec2api|snapshot|store|server)" "request metrics are shared by both wire layers and gc"
for b in packblocks pebblemeta memstore s3blocks; do
	check deps internal/store/$b "^$mod/internal/(api|snapshot|server|sigv4)" "backends store and retrieve"
done
exit $fail
