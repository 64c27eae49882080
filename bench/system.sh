# system.sh -- the whole system under load (sourced by bench/run.sh after ingest.sh):
# visibility latency at light load and at half of ingest's acked rate (with the sender
# running, and stopped), the pipeline's throughput from POST to a final status, the time
# a sender job spends in each stage, recovery after SIGKILL under static membership, and
# each daemon's footprint.

topic="bench.system"
"$top/deploy/kafka/kafka.sh" create "$tmp/kafka" "$topic" 6 2>/dev/null
db="$tmp/system.db"
qp=$(free_port) ip=$(free_port) sp=$(free_port)
qa=$(free_port) ia=$(free_port) pa=$(free_port) sa=$(free_port)
common=(STATUS_TOPIC="$topic")
proj_env=("${common[@]}" PROJECTOR_DB="$db" PROJECTOR_ADMIN_LISTEN="127.0.0.1:$pa"
	PROJECTOR_GROUP=bench-projector KAFKA_GROUP_INSTANCE_ID=bench-projector)
send_env=("${common[@]}" PROVIDER_URL="http://127.0.0.1:$sp" SENDER_ADMIN_LISTEN="127.0.0.1:$sa"
	SENDER_GROUP=bench-sender KAFKA_GROUP_INSTANCE_ID=bench-sender SENDER_MAX_INFLIGHT=1024)
start projector "$tmp/projector-sys.log" "${proj_env[@]}"
proj_pid=$last_pid
start query "$tmp/query-sys.log" "${common[@]}" QUERY_DB="$db" QUERY_LISTEN="127.0.0.1:$qp" \
	QUERY_ADMIN_LISTEN="127.0.0.1:$qa" QUERY_THREADS=64
query_pid=$last_pid
start simulator "$tmp/simulator.log" SIM_LISTEN="127.0.0.1:$sp" \
	SIM_WEBHOOK_URL="http://127.0.0.1:$ip/webhooks" SIM_DELAY_MIN_MS=0 SIM_DELAY_MAX_MS=1 \
	SIM_REJECT_PERCENT=0 SIM_DUPLICATE_PERCENT=0 SIM_REORDER_PERCENT=0 \
	SIM_WEBHOOK_WORKERS=64 SIM_THREADS=256
sim_pid=$last_pid
start ingest "$tmp/ingest-sys.log" "${common[@]}" INGEST_LISTEN="127.0.0.1:$ip" \
	INGEST_ADMIN_LISTEN="127.0.0.1:$ia" INGEST_THREADS=256
ingest_pid=$last_pid
start sender "$tmp/sender.log" "${send_env[@]}"
sender_pid=$last_pid
for u in "127.0.0.1:$pa" "127.0.0.1:$qa" "127.0.0.1:$sp" "127.0.0.1:$ia" "127.0.0.1:$sa"; do
	wait_http "http://$u/readyz" || exit 1
done

loadgen() { # loadgen ENV=VALUE...: one JSON line
	env LOADGEN_INGEST="http://127.0.0.1:$ip" LOADGEN_QUERY="http://127.0.0.1:$qp" \
		LOADGEN_KEY="$BENCH_KEY" "$@" "$tools/loadgen"
}

drained() { # up to 30 s for the sender to have nothing in flight
	for _ in $(seq 1 300); do
		[ "$(metric "http://127.0.0.1:$sa" sender_inflight)" = "0.000000" ] && break
		sleep 0.1
	done
}

footprint_idle=()
for p in $ingest_pid $sender_pid $proj_pid $query_pid; do footprint_idle+=("$(rss_mb "$p")"); done
# The first notifications warm every path (connections, the group's assignment, the
# broker's JIT on the consumers' fetches), then drain.
loadgen LOADGEN_PREFIX=warm LOADGEN_THREADS=16 LOADGEN_RATE=500 LOADGEN_PROBES=1 \
	LOADGEN_PROBE_RATE=10 LOADGEN_SECONDS=5 >/dev/null
drained

# ---- POST -> visible ----------------------------------------------------------------
light=$(loadgen LOADGEN_PREFIX=vis-light LOADGEN_THREADS=0 LOADGEN_PROBES=2 \
	LOADGEN_PROBE_RATE=50 LOADGEN_SECONDS="$SECS")
row "visible: POST 202 -> GET, light load (50/s), p50 / p99 (ms)" \
	"$(json_field "$light" visible_p50_ms) / $(json_field "$light" visible_p99_ms)" "" "" \
	"< 10 / < 25"
half=$((ingest_rate / 2))
loaded=$(loadgen LOADGEN_PREFIX=vis-half LOADGEN_THREADS=64 LOADGEN_RATE="$half" \
	LOADGEN_PROBES=2 LOADGEN_PROBE_RATE=50 LOADGEN_SECONDS="$SECS")
row "visible: POST 202 -> GET at half of ingest's rate ($(json_field "$loaded" rate | cut -d. -f1)/s), p50 / p99 (ms)" \
	"$(json_field "$loaded" visible_p50_ms) / $(json_field "$loaded" visible_p99_ms)" "" "" \
	"< 10 / < 25"
drained # the visibility load, before the pipeline is timed
# The same load with the sender stopped (SIGSTOP): no sends, no webhooks, only what a POST
# needs to be seen (ingest, the broker, the projector, query) on the two cores. The sender
# then sends the backlog, before the pipeline is timed.
out_p=$(metric "http://127.0.0.1:$sa" 'sender_outcomes_total{type="dispatched"}')
kill -STOP "$sender_pid"
paused=$(loadgen LOADGEN_PREFIX=vis-paused LOADGEN_THREADS=64 LOADGEN_RATE="$half" \
	LOADGEN_PROBES=2 LOADGEN_PROBE_RATE=50 LOADGEN_SECONDS="$SECS")
kill -CONT "$sender_pid"
row "visible: the same with the sender stopped, the read path alone ($(json_field "$paused" rate | cut -d. -f1)/s), p50 / p99 (ms)" \
	"$(json_field "$paused" visible_p50_ms) / $(json_field "$paused" visible_p99_ms)" "" "" \
	"< 10 / < 25"
backlog=$(json_field "$paused" posted | cut -d. -f1)
for _ in $(seq 1 900); do
	out=$(metric "http://127.0.0.1:$sa" 'sender_outcomes_total{type="dispatched"}')
	awk -v a="$out" -v b="$out_p" -v n="${backlog:-0}" 'BEGIN { exit !(a - b >= n) }' && break
	sleep 0.1
done
drained

# ---- the pipeline -------------------------------------------------------------------
delivered() {
	sqlite3 "$db" "SELECT count(*) FROM notifications WHERE tenant = 'bench' AND
		external_id >= 'pipe-' AND external_id < 'pipe.' AND status = 'delivered'" 2>/dev/null || echo 0
}
broker_pid=$(cat "$tmp/kafka/pid" 2>/dev/null || echo 0)
cpu_of() { for p in $ingest_pid $sender_pid $proj_pid $sim_pid $broker_pid; do cpu_ticks "$p"; done; }
machine() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8, $5 + $6 }' /proc/stat; }
read -r -a cpu0 <<<"$(cpu_of | tr '\n' ' ')"
read -r -a mach0 <<<"$(machine)"
out0=$(metric "http://127.0.0.1:$sa" 'sender_outcomes_total{type="dispatched"}')
t0=$(now_ms)
loadgen LOADGEN_PREFIX=pipe LOADGEN_THREADS=64 LOADGEN_COUNT="$PIPELINE" >"$tmp/pipe.json" &
lg=$!
peak=(0 0 0 0)
t_sent=""
done_n=0
for _ in $(seq 1 1200); do
	i=0
	for p in $ingest_pid $sender_pid $proj_pid $query_pid; do
		r=$(rss_mb "$p")
		awk -v a="$r" -v b="${peak[$i]}" 'BEGIN { exit !(a > b) }' && peak[$i]=$r
		i=$((i + 1))
	done
	if [ -z "$t_sent" ]; then
		out=$(metric "http://127.0.0.1:$sa" 'sender_outcomes_total{type="dispatched"}')
		awk -v a="$out" -v b="$out0" -v n="$PIPELINE" 'BEGIN { exit !(a - b >= n) }' && t_sent=$(now_ms)
	fi
	done_n=$(delivered)
	[ "${done_n:-0}" -ge "$PIPELINE" ] && break
	sleep 0.2
done
t1=$(now_ms)
read -r -a cpu1 <<<"$(cpu_of | tr '\n' ' ')"
read -r -a mach1 <<<"$(machine)"
wait "$lg"
post_rate=$(json_field "$(cat "$tmp/pipe.json")" rate | cut -d. -f1)
pipe_rate=$(awk -v n="$done_n" -v ms=$((t1 - t0)) 'BEGIN { printf "%d", n / (ms / 1000) }')
send_rate=$(awk -v n="$PIPELINE" -v ms=$(( ${t_sent:-$t1} - t0 )) 'BEGIN { printf "%d", n / (ms / 1000) }')
row "pipeline: notifications/s from POST to delivered (${done_n}/${PIPELINE}; POSTed at ${post_rate}/s)" \
	"$pipe_rate" "$ingest_rate (ingest acked)" "$(ratio "$pipe_rate" "$ingest_rate")" ">= 0.5"
row "pipeline: sender dispatches/s (to the provider, outcome acked)" "$send_rate" \
	"$ingest_rate (ingest acked)" "$(ratio "$send_rate" "$ingest_rate")" ""
stages=""
for st in wait exists send ack; do
	s=$(metric "http://127.0.0.1:$sa" "sender_stage_seconds_sum{stage=\"$st\"}")
	c=$(metric "http://127.0.0.1:$sa" "sender_stage_seconds_count{stage=\"$st\"}")
	stages="$stages $st $(awk -v s="$s" -v c="$c" 'BEGIN { if (c > 0) printf "%.1f", s / c * 1000; else print "?" }')"
done
row "pipeline: mean ms a job spends per stage (sender)" "$(echo $stages)" "" "" ""
# Where the two cores went: CPU per delivered notification of each process, and how busy
# the machine was (wrk is not running here; the rest is loadgen and the kernel).
cpu_row=""
i=0
for name in ingest sender projector simulator broker; do
	cpu_row="$cpu_row $name $(awk -v t=$((cpu1[i] - cpu0[i])) -v hz="$(getconf CLK_TCK)" \
		-v n="$done_n" 'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "?" }')"
	i=$((i + 1))
done
busy=$(awk -v t=$((mach1[0] - mach0[0])) -v idle=$((mach1[1] - mach0[1])) \
	'BEGIN { if (t > 0) printf "%.0f", 100 * (1 - idle / t); else print "?" }')
row "pipeline: CPU us per notification by process; machine busy (%)" "$(echo $cpu_row); busy $busy" "" "" ""

# ---- recovery -----------------------------------------------------------------------
# SIGKILL, restart at once under the same group.instance.id, time to the next one served.
kill -KILL "$sender_pid"
wait "$sender_pid" 2>/dev/null
k0=$(now_ms)
start sender "$tmp/sender.log" "${send_env[@]}"
sender_pid=$last_pid
loadgen LOADGEN_PREFIX=rec-sender LOADGEN_THREADS=1 LOADGEN_COUNT=1 >/dev/null
rec_s="n/a"
for _ in $(seq 1 600); do
	if curl -s "http://127.0.0.1:$sp/report/bench:rec-sender-0-0" | grep -q '"sends":1'; then
		rec_s=$(awk -v ms=$(($(now_ms) - k0)) 'BEGIN { printf "%.2f", ms / 1000 }')
		break
	fi
	sleep 0.05
done
row "recovery: SIGKILL sender, restart, next notification sent (s)" "$rec_s" "" "" "< 5"
kill -KILL "$proj_pid"
wait "$proj_pid" 2>/dev/null
k0=$(now_ms)
start projector "$tmp/projector-sys.log" "${proj_env[@]}"
proj_pid=$last_pid
loadgen LOADGEN_PREFIX=rec-proj LOADGEN_THREADS=1 LOADGEN_COUNT=1 >/dev/null
rec_p="n/a"
for _ in $(seq 1 600); do
	if curl -sf -o /dev/null -H "Authorization: Bearer $BENCH_KEY" \
		"http://127.0.0.1:$qp/notifications/rec-proj-0-0"; then
		rec_p=$(awk -v ms=$(($(now_ms) - k0)) 'BEGIN { printf "%.2f", ms / 1000 }')
		break
	fi
	sleep 0.05
done
row "recovery: SIGKILL projector, restart, next notification visible (s)" "$rec_p" "" "" "< 5"

# ---- footprint ----------------------------------------------------------------------
names=(ingest sender projector query)
for i in 0 1 2 3; do
	row "footprint: ${names[$i]} resident memory idle / under the pipeline load (MB)" \
		"${footprint_idle[$i]} / ${peak[$i]}" "" "" ""
done
for p in $sender_pid $ingest_pid $sim_pid $query_pid $proj_pid; do kill -TERM "$p" 2>/dev/null; done
wait "$sender_pid" "$ingest_pid" "$sim_pid" "$query_pid" "$proj_pid" 2>/dev/null
