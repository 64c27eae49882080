#!/usr/bin/env bash
# run.sh -- the benchmarks (what `make bench` calls). Every figure that has a baseline is
# printed as a ratio against it, measured in the same run on the same machine, so the
# numbers compare across machines. One table at the end: measure, figure, baseline, ratio,
# target (targets are never asserted anywhere: a benchmark measures, tests prove).
#
#   ingest      acked POST /notifications vs GET /healthz on the same server; CPU per request
#   visible     POST 202 -> visible in GET (read-your-writes), at light load and at half of
#               ingest's acked rate, with the sender running and stopped
#   pipeline    notifications/s from POST to a final status with the simulator answering at
#               once, vs ingest's acked rate; the sender's dispatch rate; time per job stage
#   projector   events/s folded into SQLite, first message to last commit, vs kcat reading
#               the same topic (medians of three rounds); the group join apart
#   query       GET by externalId on a read model of BENCH_NOTIFICATIONS notifications vs
#               GET /healthz on the same server
#   recovery    SIGKILL of the sender / the projector, restarted at once under the same
#               group.instance.id: time to the next notification sent / visible
#   footprint   resident memory of each daemon, idle and under the pipeline load
#
# BENCH_SECONDS (5) per wrk run, BENCH_WARMUP (20) seconds of POSTs before ingest is
# measured (the broker's JIT compiles its hot paths meanwhile), BENCH_CONNECTIONS (64),
# BENCH_EVENTS (200000) for the projector, BENCH_NOTIFICATIONS (1000000) for query,
# BENCH_PIPELINE (20000) notifications,
# BENCH_OUT (a file to write the table to, as Markdown), BENCH_PARTS (which parts, of
# "ingest system projector query"; system needs ingest's rate: all four by default).
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
BUILD=${BUILD:-build}
SECS=${BENCH_SECONDS:-5}
WARMUP=${BENCH_WARMUP:-20}
CONNS=${BENCH_CONNECTIONS:-64}
EVENTS=${BENCH_EVENTS:-200000}
NOTIFS=${BENCH_NOTIFICATIONS:-1000000}
PIPELINE=${BENCH_PIPELINE:-20000}
OUT=${BENCH_OUT:-}
PARTS=" ${BENCH_PARTS:-ingest system projector query} "
bin="$top/$BUILD/bin"
tools="$top/$BUILD/tools"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nstatus-bench.XXXXXX")
table="$tmp/table"
pids=()
: >"$table"

. "$top/bench/lib.sh"

trap cleanup EXIT
trap 'exit 130' INT TERM

for t in wrk kcat sqlite3 curl; do
	command -v "$t" >/dev/null || { echo "bench: $t not installed (deploy/install-deps.sh)" >&2; exit 1; }
done
# The broker with both of the JVM's compilers, as a production broker runs (the tests' quick
# mode stops at the first, for fast starts): warm, it spends about a third less CPU per
# notification, on the same two cores as everything measured here.
export KAFKA_JIT=${KAFKA_JIT:-full}
bootstrap=$("$top/deploy/kafka/kafka.sh" start "$tmp/kafka") || exit 1
export KAFKA_BOOTSTRAP_SERVERS=$bootstrap
export SCHEMAS_DIR="$top/schemas/channels"
export LOG_LEVEL=warn
# Security on, as in production: requests carry an API key, webhooks are signed.
BENCH_KEY=$("$bin/apikey" --tenant bench --scopes send,read --file "$tmp/api-keys") || exit 1
export BENCH_KEY API_KEYS_FILE="$tmp/api-keys"
export WEBHOOK_SECRET="bench-webhook-secret-$RANDOM$RANDOM"
export SIM_WEBHOOK_SECRET=$WEBHOOK_SECRET

for part in ingest system projector query; do
	case "$PARTS" in *" $part "*) . "$top/bench/$part.sh" ;; esac
done

print_table
