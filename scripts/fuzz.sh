#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (each `func Fuzz…` in a
# _test.go file), one at a time, for DURATION each (default 10m; any
# -fuzztime value: 30s, 1h, 100000x), and prints the execs and the result
# of each. Exits 1 if any target fails; the failing input is then in
# <package>/testdata/fuzz/<target>/, where `go test` replays it.
#
#   scripts/fuzz.sh            # the campaign: 10 minutes per target
#   scripts/fuzz.sh 20s        # a quick check
#   FUZZ_PARALLEL=1 scripts/fuzz.sh 3m   # one fuzz worker, to leave a core free
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-10m}
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
	parallel=(-parallel="$FUZZ_PARALLEL")
fi
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# "dir name" per target, sorted ("." for the module's root package).
targets=$(grep -rHoE --include='*_test.go' --exclude-dir=testdata --exclude-dir=.git \
	'^func Fuzz[A-Za-z0-9_]*\(' . |
	sed -E -e 's#^\./([^:]*)/[^/:]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#' \
		-e 's#^\./[^/:]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#. \1#' | sort -u)
if [ -z "$targets" ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi
echo "fuzz.sh: $(echo "$targets" | wc -l) targets, $duration each"

failed=0
summary=""
while read -r dir name; do
	log="$logs/$(echo "$dir" | tr / _)_$name.log"
	printf '%-24s %-20s ' "$name" "$dir"
	# -timeout 0: the fuzz time bounds the run, and the fuzzer itself
	# reports an input that hangs.
	if go test -run='^$' -fuzz="^$name\$" -fuzztime="$duration" -timeout=0 "${parallel[@]}" "./$dir" >"$log" 2>&1; then
		result=PASS
	else
		result=FAIL
		failed=1
	fi
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2 || true)
	echo "execs ${execs:-?}  $result"
	summary+="$(printf '%-24s %-20s %12s  %s' "$name" "$dir" "${execs:-?}" "$result")"$'\n'
	if [ "$result" = FAIL ]; then
		sed 's/^/    /' "$log" | tail -n 40
	fi
done <<<"$targets"

echo
printf '%-24s %-20s %12s  %s\n' target package execs result
printf '%s' "$summary"
exit $failed
