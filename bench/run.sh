#!/usr/bin/env bash
# run.sh -- benchmarks (what `make bench` calls). Each result is a ratio against a baseline
# measured in the same run on the same machine, so numbers compare across machines:
#
#   ingest     POST /notifications (validated, produced, acked by Kafka) vs GET /healthz on
#              the same civetweb server (HTTP alone): the cost of the durable write path.
#   projector  events/s folded into SQLite (decode, state machine, history row, offsets in
#              the same transaction) vs kcat reading the same topic to /dev/null: the cost
#              of the read model on top of consuming.
#
# BENCH_SECONDS (5), BENCH_CONNECTIONS (64), BENCH_EVENTS (200000). Prints one line per
# benchmark and leaves logs in a scratch folder on failure.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
BUILD=${BUILD:-build}
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-64}
EVENTS=${BENCH_EVENTS:-200000}
bin="$top/$BUILD/bin"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nstatus-bench.XXXXXX")
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$top/deploy/kafka/kafka.sh" stop "$tmp/kafka" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

wait_http() { # wait_http URL
	for _ in $(seq 1 200); do
		curl -sf -o /dev/null "$1" && return 0
		sleep 0.05
	done
	echo "bench: $1 did not come up" >&2
	return 1
}

rps() { # rps WRK_OUTPUT -> requests per second (integer)
	awk '/^Requests\/sec:/ {printf "%d", $2}' "$1"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

command -v wrk >/dev/null || { echo "bench: wrk not installed (deploy/install-deps.sh)" >&2; exit 1; }
bootstrap=$("$top/deploy/kafka/kafka.sh" start "$tmp/kafka") || exit 1
export KAFKA_BOOTSTRAP_SERVERS=$bootstrap
export SCHEMAS_DIR="$top/schemas/channels"
export LOG_LEVEL=warn

# ---- ingest ----------------------------------------------------------------------------
topic="bench.ingest"
"$top/deploy/kafka/kafka.sh" create "$tmp/kafka" "$topic" 6 2>/dev/null
port=$(free_port)
STATUS_TOPIC=$topic INGEST_LISTEN="127.0.0.1:$port" "$bin/ingest" 2>"$tmp/ingest.log" &
pids+=($!)
wait_http "http://127.0.0.1:$port/healthz" || exit 1
wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 # warm up
wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port/healthz" >"$tmp/base.txt" 2>&1
wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$top/bench/post_notification.lua" \
	"http://127.0.0.1:$port/notifications" >"$tmp/post.txt" 2>&1
base=$(rps "$tmp/base.txt")
post=$(rps "$tmp/post.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$tmp/post.txt")
lat=$(awk '/Latency/ {print $2; exit}' "$tmp/post.txt")
echo "ingest:    POST /notifications ${post} req/s (acked by Kafka, mean latency ${lat}, non-2xx ${non2xx:-0})"
echo "           baseline GET /healthz ${base} req/s -> ratio $(ratio "$post" "$base")"
kill -TERM "${pids[-1]}" && wait "${pids[-1]}"

# ---- projector -------------------------------------------------------------------------
topic="bench.projector"
"$top/deploy/kafka/kafka.sh" create "$tmp/kafka" "$topic" 6 2>/dev/null
# EVENTS events: for each notification a requested, a dispatched, sent and delivered.
awk -v n="$EVENTS" 'BEGIN {
	srand(42)
	for (i = 0; i < n / 4; i++) {
		id = sprintf("bench-%d", i); ts = "2025-03-01T12:00:00.000Z"
		printf "%s\t{\"v\":1,\"id\":\"%032x\",\"type\":\"requested\",\"externalId\":\"%s\",\"channel\":\"sms\",\"occurredAt\":\"%s\",\"receivedAt\":\"%s\",\"source\":\"api\",\"data\":{\"to\":\"+4915112345678\",\"body\":\"hello %d\"}}\n", id, i * 4, id, ts, ts, i
		printf "%s\t{\"v\":1,\"id\":\"%032x\",\"type\":\"dispatched\",\"externalId\":\"%s\",\"channel\":\"sms\",\"occurredAt\":\"%s\",\"receivedAt\":\"%s\",\"source\":\"sender\",\"data\":{\"status\":\"processing\",\"providerId\":\"p-%d\"}}\n", id, i * 4 + 1, id, ts, ts, i
		printf "%s\t{\"v\":1,\"id\":\"%032x\",\"type\":\"status\",\"externalId\":\"%s\",\"channel\":\"\",\"occurredAt\":\"%s\",\"receivedAt\":\"%s\",\"source\":\"provider\",\"data\":{\"status\":\"sent\"}}\n", id, i * 4 + 2, id, ts, ts
		printf "%s\t{\"v\":1,\"id\":\"%032x\",\"type\":\"status\",\"externalId\":\"%s\",\"channel\":\"\",\"occurredAt\":\"%s\",\"receivedAt\":\"%s\",\"source\":\"provider\",\"data\":{\"status\":\"delivered\"}}\n", id, i * 4 + 3, id, ts, ts
	}
}' >"$tmp/events.tsv"
total=$(wc -l <"$tmp/events.tsv")
kcat -P -b "$bootstrap" -t "$topic" -K $'\t' -z lz4 -X linger.ms=50 <"$tmp/events.tsv" || exit 1

t0=$(date +%s%N)
got=$(kcat -C -b "$bootstrap" -t "$topic" -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l)
t1=$(date +%s%N)
kcat_rate=$(awk -v n="$got" -v ns=$((t1 - t0)) 'BEGIN { printf "%d", n / (ns / 1e9) }')

port=$(free_port)
t0=$(date +%s%N)
STATUS_TOPIC=$topic PROJECTOR_DB="$tmp/bench.db" PROJECTOR_ADMIN_LISTEN="127.0.0.1:$port" \
	PROJECTOR_GROUP=bench "$bin/projector" 2>"$tmp/projector.log" &
pids+=($!)
applied=0
for _ in $(seq 1 1200); do
	applied=$(sqlite3 "$tmp/bench.db" "SELECT coalesce(sum(next_offset),0) FROM offsets" 2>/dev/null || echo 0)
	[ "${applied:-0}" -ge "$total" ] && break
	sleep 0.1
done
t1=$(date +%s%N)
proj_rate=$(awk -v n="$applied" -v ns=$((t1 - t0)) 'BEGIN { printf "%d", n / (ns / 1e9) }')
echo "projector: ${applied}/${total} events folded into SQLite at ${proj_rate} events/s (from process start)"
echo "           baseline kcat consume ${kcat_rate} events/s -> ratio $(ratio "$proj_rate" "$kcat_rate")"
per_million=$(awk -v r="$proj_rate" 'BEGIN { if (r > 0) printf "%.0f", 1e6 / r; else print "n/a" }')
echo "           a read replica rebuilds about ${per_million} s per million events on this machine"
