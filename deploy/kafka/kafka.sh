#!/usr/bin/env bash
# kafka.sh -- a real single-node Apache Kafka 4.x broker (KRaft, broker+controller in one
# JVM) on 127.0.0.1, for local runs and tests. No Docker: the jars come from Maven Central
# through deploy/kafka/pom.xml into a cache outside the repository, fetched once.
#
#   kafka.sh fetch                    download the broker jars into the cache (once)
#   kafka.sh start DIR [PORT]         format storage in DIR and start a broker; prints the
#                                     bootstrap address. PORT 0 or absent: a free port.
#   kafka.sh topics DIR [PARTITIONS]  create the project's topics (idempotent)
#   kafka.sh create DIR TOPIC PARTS   create one topic
#   kafka.sh stop DIR                 stop the broker cleanly, killing it if it hangs
#   kafka.sh kill DIR                 SIGKILL the broker, keeping its data (fault tests)
#   kafka.sh resume DIR               start a stopped broker again on its data and ports
#   kafka.sh bootstrap DIR            print host:port of a running broker
#
# Environment: KAFKA_VERSION (4.1.1), KAFKA_CACHE (~/.cache/nstatus/kafka),
# KAFKA_HEAP (512m), STATUS_TOPIC (notification.status.change), TOPIC_PARTITIONS (6),
# KAFKA_JIT (quick: the JVM's first compiler only, for a broker up in seconds and light on
# the CPU while tests start it; full: both compilers, slower to warm up, less CPU per
# request once warm, as a production broker runs; make bench uses it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_CACHE=${KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nstatus/kafka}
KAFKA_HEAP=${KAFKA_HEAP:-512m}
KAFKA_JIT=${KAFKA_JIT:-quick}
case $KAFKA_JIT in quick | full) ;; *) echo "kafka.sh: KAFKA_JIT must be quick or full" >&2; exit 2 ;; esac
STATUS_TOPIC=${STATUS_TOPIC:-notification.status.change}
TOPIC_PARTITIONS=${TOPIC_PARTITIONS:-6}
libs="$KAFKA_CACHE/$KAFKA_VERSION/libs"

die() { echo "kafka.sh: $*" >&2; exit 1; }
log() { echo "kafka.sh: $*" >&2; }

cmd_fetch() {
	[ -f "$libs/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
	command -v mvn >/dev/null || die "mvn not found (run deploy/install-deps.sh)"
	log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $libs"
	local tmp
	mkdir -p "$KAFKA_CACHE/$KAFKA_VERSION"
	tmp=$(mktemp -d "$KAFKA_CACHE/$KAFKA_VERSION/libs.tmp.XXXXXX")
	if ! mvn -q -B -f "$here/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
		dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
		cat "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		die "could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central"
	fi
	rm -f "$tmp.log"
	# Two concurrent fetches: the first rename wins, the other keeps its copy out of the way.
	mv -T "$tmp" "$libs" 2>/dev/null || rm -rf "$tmp"
	[ -f "$libs/kafka_2.13-$KAFKA_VERSION.jar" ] || die "fetch left no broker jar in $libs"
}

java_run() { # java_run MAIN_CLASS ARGS... (foreground)
	java -Xmx256m -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" \
		-Dkafka.logs.dir="${KAFKA_LOGS_DIR:-/tmp}" "$@"
}

port_free() { # true when nothing listens on 127.0.0.1:$1
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		port_free "$p" && { echo "$p"; return 0; }
	done
	die "no free port found"
}

write_config() { # write_config DIR PORT CPORT
	local dir=$1 port=$2 cport=$3
	cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=$TOPIC_PARTITIONS
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=-1
log.retention.bytes=-1
EOF
}

wait_ready() { # wait_ready DIR PORT PID
	local dir=$1 port=$2 pid=$3 i
	for i in $(seq 1 600); do
		kill -0 "$pid" 2>/dev/null || return 1
		if grep -q "Kafka Server started" "$dir/logs/server.log" 2>/dev/null &&
			kcat -L -b "127.0.0.1:$port" -m 2 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

launch() { # launch DIR: start the JVM in the background, print its pid
	local dir=$1 jit
	if [ "$KAFKA_JIT" = full ]; then jit=-XX:+TieredCompilation; else jit=-XX:TieredStopAtLevel=1; fi
	# setsid: a Ctrl-C meant for the caller must not stop the broker before its clients.
	setsid nohup java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC "$jit" \
		-Djava.awt.headless=true -Dkafka.logs.dir="$dir/logs" \
		-Dlog4j2.configurationFile="$here/log4j2.properties" \
		-cp "$libs/*" kafka.Kafka "$dir/server.properties" \
		>>"$dir/logs/stdout.log" 2>&1 </dev/null &
	echo "$!" >"$dir/pid"
	echo "$!"
}

cmd_start() {
	local dir=${1:?usage: kafka.sh start DIR [PORT]} want=${2:-0} port cport pid attempt
	cmd_fetch
	command -v kcat >/dev/null || die "kcat not found (run deploy/install-deps.sh)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
		cat "$dir/bootstrap"
		return 0
	fi
	if [ "$want" != 0 ] && ! port_free "$want"; then
		die "port $want on 127.0.0.1 is already in use (another broker? set KAFKA_PORT)"
	fi
	for attempt in 1 2 3 4 5; do
		port=$want
		[ "$port" = 0 ] && port=$(pick_port)
		cport=$(pick_port)
		rm -rf "$dir/data" "$dir/logs"
		mkdir -p "$dir/data" "$dir/logs"
		write_config "$dir" "$port" "$cport"
		KAFKA_LOGS_DIR="$dir/logs" java_run kafka.tools.StorageTool format -t "$(
			KAFKA_LOGS_DIR="$dir/logs" java_run kafka.tools.StorageTool random-uuid)" \
			-c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 ||
			{ cat "$dir/logs/format.log" >&2; die "storage format failed"; }
		pid=$(launch "$dir")
		if wait_ready "$dir" "$port" "$pid"; then
			echo "127.0.0.1:$port" >"$dir/bootstrap"
			log "broker ready on 127.0.0.1:$port (pid $pid, dir $dir)"
			echo "127.0.0.1:$port"
			return 0
		fi
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$dir/pid"
		if grep -q "Address already in use" "$dir/logs/"*.log 2>/dev/null && [ "$want" = 0 ]; then
			log "port taken, retrying (attempt $attempt)"
			continue
		fi
		tail -30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2 2>/dev/null || true
		die "broker did not become ready"
	done
	die "broker did not start after 5 attempts"
}

cmd_bootstrap() {
	local dir=${1:?usage: kafka.sh bootstrap DIR}
	[ -f "$dir/bootstrap" ] || die "no broker in $dir"
	cat "$dir/bootstrap"
}

cmd_create() { # create DIR TOPIC PARTITIONS
	local dir=${1:?} topic=${2:?} parts=${3:?} bs
	bs=$(cmd_bootstrap "$dir")
	KAFKA_LOGS_DIR="$dir/logs" java_run org.apache.kafka.tools.TopicCommand \
		--bootstrap-server "$bs" --create --if-not-exists --topic "$topic" \
		--partitions "$parts" --replication-factor 1 \
		--config retention.ms=-1 --config retention.bytes=-1 >&2
}

cmd_topics() {
	local dir=${1:?usage: kafka.sh topics DIR [PARTITIONS]} parts=${2:-$TOPIC_PARTITIONS}
	cmd_create "$dir" "$STATUS_TOPIC" "$parts"
	cmd_create "$dir" "$STATUS_TOPIC.dlq" 1
}

cmd_stop() {
	local dir=${1:?usage: kafka.sh stop DIR} pid i
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	if kill -TERM "$pid" 2>/dev/null; then
		for i in $(seq 1 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "broker $pid did not stop in 15 s, killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$dir/pid" "$dir/bootstrap"
}

cmd_kill() {
	local dir=${1:?usage: kafka.sh kill DIR}
	[ -f "$dir/pid" ] || return 0
	kill -KILL "$(cat "$dir/pid")" 2>/dev/null || true
	while kill -0 "$(cat "$dir/pid")" 2>/dev/null; do sleep 0.05; done
	rm -f "$dir/pid"
}

cmd_resume() {
	local dir=${1:?usage: kafka.sh resume DIR} port pid
	[ -f "$dir/server.properties" ] || die "no broker was started in $dir"
	port=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1://p' "$dir/server.properties")
	pid=$(launch "$dir")
	wait_ready "$dir" "$port" "$pid" || die "broker did not come back on port $port"
	echo "127.0.0.1:$port" >"$dir/bootstrap"
	echo "127.0.0.1:$port"
}

case "${1:-}" in
fetch) cmd_fetch ;;
start) shift; cmd_start "$@" ;;
topics) shift; cmd_topics "$@" ;;
create) shift; cmd_create "$@" ;;
stop) shift; cmd_stop "$@" ;;
bootstrap) shift; cmd_bootstrap "$@" ;;
kill) shift; cmd_kill "$@" ;;
resume) shift; cmd_resume "$@" ;;
*) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ] && exit 2 || exit 0 ;;
esac
