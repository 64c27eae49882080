#!/usr/bin/env bash
# run.sh -- run every test suite against a real Kafka broker (what `make test` calls).
#
# Starts a broker of its own on free ports in a scratch folder (so two runs on one machine
# never collide), creates the topics, runs each Check runner of build/tests/{unit,
# integration,e2e} in turn, stops the broker at the end (on failure and Ctrl-C too), and
# prints a closing line "N passed, N failed" over the runners. Exits non-zero on any failure.
#
#   BUILD=build        where `make tests` put the runners and binaries
#   SUITES="unit integration e2e"   which suites to run
#   TESTS=name,...     only these runners (file names without .c)
#   KEEP_TMP=1         keep the scratch folder (logs of every daemon) after the run
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
BUILD=${BUILD:-build}
SUITES=${SUITES:-unit integration e2e}
TESTS=${TESTS:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nstatus-test.XXXXXX")
kdir="$tmp/kafka"
cleanup() {
	"$top/deploy/kafka/kafka.sh" stop "$kdir" >/dev/null 2>&1
	if [ -n "${KEEP_TMP:-}" ] || [ "${failed:-0}" -gt 0 ]; then
		echo "run.sh: logs kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "run.sh: starting a Kafka broker for the tests" >&2
bootstrap=$("$top/deploy/kafka/kafka.sh" start "$kdir") || { echo "run.sh: broker failed" >&2; exit 1; }
"$top/deploy/kafka/kafka.sh" topics "$kdir" >/dev/null 2>&1 || { echo "run.sh: topics failed" >&2; exit 1; }

# Security on, as in production: one API key of tenant "test" with every scope, and the
# webhook secret the simulator signs with. Tests that need other keys make their own.
keys="$tmp/api-keys"
NS_TEST_API_KEY=$("$top/$BUILD/bin/apikey" --tenant test --scopes send,read,read:pii \
	--id k-test --file "$keys") || { echo "run.sh: apikey failed" >&2; exit 1; }
export NS_TEST_API_KEY NS_TEST_KEYS_FILE="$keys"
export NS_TEST_WEBHOOK_SECRET="test-webhook-secret-$RANDOM$RANDOM$RANDOM"

export NS_TEST_BOOTSTRAP=$bootstrap
export KAFKA_BOOTSTRAP_SERVERS=$bootstrap
export NS_BIN_DIR="$top/$BUILD/bin"
export NS_TOOLS_DIR="$top/$BUILD/tools"
export NS_SCHEMAS_DIR="$top/schemas/channels"
export NS_TEST_TMP="$tmp"
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-300}

passed=0
failed=0
failed_names=""
for suite in $SUITES; do
	for t in "$BUILD/tests/$suite"/*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		if [ -n "$TESTS" ] && [[ ",$TESTS," != *",$name,"* ]]; then
			continue
		fi
		echo "== $suite/$name" >&2
		if "$t"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			failed_names="$failed_names $suite/$name"
		fi
	done
done

[ "$failed" -gt 0 ] && echo "run.sh: failed runners:$failed_names" >&2
if [ $((passed + failed)) -eq 0 ]; then
	echo "run.sh: no test runner found in $BUILD/tests" >&2
	exit 1
fi
echo "runners: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
