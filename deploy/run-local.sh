#!/usr/bin/env bash
# run-local.sh -- the whole system on this machine, in the foreground (what `make run` calls).
#
# Starts a Kafka broker (fresh state in ./run/kafka each time, and so a fresh read model in
# ./run/nstatus.db), creates the topics, then every daemon that
# has been built: projector, query, ingest, sender, the provider simulator, the changelog
# publisher and the callback worker, each logging
# to ./run/logs/<name>.log, which are followed on the terminal. Ctrl-C (or SIGTERM) stops
# the daemons with SIGTERM, in reverse order, then the broker.
#
# Security is on, as in production: on the first start it creates a development tenant
# "dev" with an API key (./run/api-keys, the key itself in ./run/dev.key) and a webhook
# secret shared by the simulator and ingest (./run/webhook.secret), and a callback secret
# every tenant's callbacks are signed with (./run/callback.secret), and prints the key
# with a curl line that uses it. Callback URLs may name local addresses here
# (CALLBACKS_ALLOW_PRIVATE=1): that is refused by default.
#
# Ports (environment): KAFKA_PORT 9092, INGEST_PORT 8080, QUERY_PORT 8081, SIM_PORT 9090;
# the admin listeners (/healthz /readyz /metrics) INGEST_ADMIN_PORT 9080, QUERY_ADMIN_PORT
# 9081, PROJECTOR_PORT 9082, SENDER_PORT 9083, CHANGELOG_PORT 9084, CALLBACKS_PORT 9085,
# all on loopback. RUN_DIR ./run.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
BUILD=${BUILD:-build}
RUN_DIR=${RUN_DIR:-$top/run}
KAFKA_PORT=${KAFKA_PORT:-9092}
INGEST_PORT=${INGEST_PORT:-8080}
QUERY_PORT=${QUERY_PORT:-8081}
INGEST_ADMIN_PORT=${INGEST_ADMIN_PORT:-9080}
QUERY_ADMIN_PORT=${QUERY_ADMIN_PORT:-9081}
PROJECTOR_PORT=${PROJECTOR_PORT:-9082}
SENDER_PORT=${SENDER_PORT:-9083}
CHANGELOG_PORT=${CHANGELOG_PORT:-9084}
CALLBACKS_PORT=${CALLBACKS_PORT:-9085}
SIM_PORT=${SIM_PORT:-9090}
bin="$top/$BUILD/bin"
tools="$top/$BUILD/tools"
logs="$RUN_DIR/logs"
mkdir -p "$logs"

pids=()
names=()
tail_pid=""

stop_all() {
	trap "" INT TERM PIPE # a closed terminal or pipe must not cut the shutdown short
	echo
	echo "run-local: stopping" >&2
	[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[$i]}" 2>/dev/null
	done
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		wait "${pids[$i]}" 2>/dev/null
		echo "run-local: ${names[$i]} exited ($?)" >&2
	done
	"$top/deploy/kafka/kafka.sh" stop "$RUN_DIR/kafka"
	echo "run-local: all stopped" >&2
	exit 0
}
trap stop_all INT TERM

start() { # start NAME ENV=VALUE... (a daemon of build/bin, or a tool of build/tools)
	local name=$1 exe
	shift
	exe="$bin/$name"
	[ -x "$exe" ] || exe="$tools/$name"
	if [ ! -x "$exe" ]; then
		echo "run-local: $name is not built yet, skipping" >&2
		return 0
	fi
	# Own session: Ctrl-C reaches this script only, which then stops the daemons in order.
	setsid env "$@" "$exe" >>"$logs/$name.log" 2>&1 </dev/null &
	pids+=($!)
	names+=("$name")
	echo "run-local: started $name (pid $!, log $logs/$name.log)" >&2
}

# A development tenant, key and webhook secret, made once and kept in $RUN_DIR.
keys="$RUN_DIR/api-keys"
if [ ! -s "$RUN_DIR/dev.key" ] || [ ! -s "$keys" ]; then
	rm -f "$keys"
	"$bin/apikey" --tenant dev --scopes send,read,read:pii --id k-dev --file "$keys" \
		>"$RUN_DIR/dev.key" || exit 1
	chmod 600 "$RUN_DIR/dev.key"
fi
if [ ! -s "$RUN_DIR/webhook.secret" ]; then
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RUN_DIR/webhook.secret"
	chmod 600 "$RUN_DIR/webhook.secret"
fi
if [ ! -s "$RUN_DIR/callback.secret" ]; then
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RUN_DIR/callback.secret"
	chmod 600 "$RUN_DIR/callback.secret"
fi
dev_key=$(cat "$RUN_DIR/dev.key")
export API_KEYS_FILE="$keys"
WEBHOOK_SECRET=$(cat "$RUN_DIR/webhook.secret")

bootstrap=$("$top/deploy/kafka/kafka.sh" start "$RUN_DIR/kafka" "$KAFKA_PORT") || exit 1
"$top/deploy/kafka/kafka.sh" topics "$RUN_DIR/kafka" >/dev/null || exit 1

export KAFKA_BOOTSTRAP_SERVERS=$bootstrap
export SCHEMAS_DIR="$top/schemas/channels"
db="$RUN_DIR/nstatus.db"

# The broker starts on fresh storage every time, so the read model does too: a database
# left by an earlier run holds the positions of a log that is gone (and may be of an older
# schema version, which the daemons refuse).
rm -f "$db" "$db-wal" "$db-shm"

start projector PROJECTOR_DB="$db" PROJECTOR_ADMIN_LISTEN="127.0.0.1:$PROJECTOR_PORT"
start query QUERY_DB="$db" QUERY_LISTEN="127.0.0.1:$QUERY_PORT" \
	QUERY_ADMIN_LISTEN="127.0.0.1:$QUERY_ADMIN_PORT"
start simulator SIM_LISTEN="127.0.0.1:$SIM_PORT" SIM_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
	SIM_WEBHOOK_URL="http://127.0.0.1:$INGEST_PORT/webhooks"
start sender PROVIDER_URL="http://127.0.0.1:$SIM_PORT" SENDER_ADMIN_LISTEN="127.0.0.1:$SENDER_PORT"
start ingest INGEST_LISTEN="127.0.0.1:$INGEST_PORT" INGEST_ADMIN_LISTEN="127.0.0.1:$INGEST_ADMIN_PORT" \
	WEBHOOK_SECRET="$WEBHOOK_SECRET" CALLBACKS_ALLOW_PRIVATE=1
start changelog CHANGELOG_ADMIN_LISTEN="127.0.0.1:$CHANGELOG_PORT"
start callbacks CALLBACKS_ADMIN_LISTEN="127.0.0.1:$CALLBACKS_PORT" CALLBACKS_ALLOW_PRIVATE=1 \
	CALLBACK_SECRET="$(cat "$RUN_DIR/callback.secret")"

cat >&2 <<EOF

run-local: the system is up (Kafka on $bootstrap).
Your development API key (tenant dev, every scope; kept in $RUN_DIR/dev.key):

  KEY=$dev_key

Try:
  curl -s -XPOST localhost:$INGEST_PORT/notifications -H "Authorization: Bearer \$KEY" \\
       -H 'Content-Type: application/json' \\
       -d '{"channel":"sms","to":"+4915112345678","body":"hello","externalId":"notif-1"}'
  curl -s -H "Authorization: Bearer \$KEY" localhost:$QUERY_PORT/notifications/notif-1
  curl -s -H "Authorization: Bearer \$KEY" localhost:$QUERY_PORT/notifications/notif-1/events
The dashboard: http://localhost:$QUERY_PORT/dashboard (paste the key).
Every applied change, exactly once (read_committed):
  kcat -b $bootstrap -C -t notification.status -X isolation.level=read_committed -f '%k %s\n'
Add "callbackUrl":"http://127.0.0.1:<port>/..." to a POST to get its changes POSTed there,
signed with $RUN_DIR/callback.secret.
More keys: $bin/apikey --tenant <name> --scopes send,read --file $keys, then
kill -HUP the ingest and query processes. Ctrl-C stops everything.

EOF
tail -q -n 0 -F "$logs"/*.log &
tail_pid=$!
while :; do
	for ((i = 0; i < ${#pids[@]}; i++)); do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			echo "run-local: ${names[$i]} died, see $logs/${names[$i]}.log" >&2
			stop_all
		fi
	done
	sleep 1 &
	wait $! 2>/dev/null
done
