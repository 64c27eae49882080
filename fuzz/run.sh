#!/usr/bin/env bash
# run.sh -- a bounded libFuzzer campaign over the targets of fuzz/ (what `make fuzz` runs).
#
# Each target runs for FUZZ_SECONDS with the seed corpus fuzz/corpus/<target> (read only)
# and a working corpus in $BUILD/corpus/<target> (kept between runs, never committed).
# A crash, leak, sanitizer report or timeout stops that target and leaves its reproducer
# in $BUILD/artifacts/<target>/. Prints one line per target (executions, seconds, new
# corpus entries, result), then "fuzz: N passed, N failed"; exits 1 on any finding.
#
#   BUILD=build/fuzz FUZZ_SECONDS=60 bash fuzz/run.sh notification webhook ...
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
BUILD=${BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export NS_SCHEMAS_DIR="$top/schemas/channels"
export LOG_LEVEL=error
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
printf '%-14s %12s %8s %8s  %s\n' target executions seconds corpus result
for t in "$@"; do
	bin="$BUILD/fuzzers/$t"
	work="$BUILD/corpus/$t"
	arts="$BUILD/artifacts/$t"
	log="$BUILD/logs/$t.log"
	mkdir -p "$work" "$arts" "$(dirname "$log")"
	if [ ! -x "$bin" ]; then
		printf '%-14s %12s %8s %8s  %s\n' "$t" - - - "not built"
		failed=$((failed + 1))
		continue
	fi
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$arts/" "$work" "fuzz/corpus/$t" \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	ncorp=$(find "$work" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		result=ok
		passed=$((passed + 1))
	else
		result="FOUND (exit $rc): $(grep -m1 -E 'ERROR|SUMMARY|deadly|timeout' "$log") -- $log"
		failed=$((failed + 1))
	fi
	printf '%-14s %12s %8s %8s  %s\n' "$t" "${runs:--}" "${secs:-$FUZZ_SECONDS}" "$ncorp" "$result"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
