# ingest.sh -- acked POSTs against GET /healthz on the same server, and the CPU time per
# acked request (sourced by bench/run.sh; sets ingest_rate for the parts after it).

topic="bench.ingest"
"$top/deploy/kafka/kafka.sh" create "$tmp/kafka" "$topic" 6 2>/dev/null
port=$(free_port)
start ingest "$tmp/ingest.log" STATUS_TOPIC=$topic INGEST_LISTEN="127.0.0.1:$port" \
	INGEST_ADMIN_LISTEN="127.0.0.1:$(free_port)"
ingest_pid=$last_pid
wait_http "http://127.0.0.1:$port/healthz" || exit 1
wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 # warm up
# and the broker's produce path, until its JIT has compiled it
[ "$WARMUP" -gt 0 ] && wrk -t2 -c"$CONNS" -d"${WARMUP}s" -s "$top/bench/post_notification.lua" \
	"http://127.0.0.1:$port/notifications" >/dev/null 2>&1
wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port/healthz" >"$tmp/base.txt" 2>&1
c0=$(cpu_ticks "$ingest_pid")
wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$top/bench/post_notification.lua" \
	"http://127.0.0.1:$port/notifications" >"$tmp/post.txt" 2>&1
c1=$(cpu_ticks "$ingest_pid")
base=$(rps "$tmp/base.txt")
ingest_rate=$(rps "$tmp/post.txt")
non2xx=$(awk '/^non-2xx/ {print $NF}' "$tmp/post.txt")
cpu_us=$(per_request_us $((c1 - c0)) "$(requests "$tmp/post.txt")")
row "ingest: acked POST /notifications (req/s, ${CONNS} connections, non-2xx ${non2xx:-0})" \
	"$ingest_rate" "$base (GET /healthz)" "$(ratio "$ingest_rate" "$base")" ">= 0.5"
row "ingest: CPU per acked request (us)" "$cpu_us" "" "" "< 40"
kill -TERM "$ingest_pid" && wait "$ingest_pid" 2>/dev/null
