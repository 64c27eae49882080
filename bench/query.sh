# query.sh -- GET by externalId on a read model of NOTIFS notifications against GET
# /healthz on the same server (sourced by bench/run.sh). The database gets its schema from
# the projector (ns_readmodel) and its rows from one SQL statement.

qdb="$tmp/query.db"
topic="bench.query"
"$top/deploy/kafka/kafka.sh" create "$tmp/kafka" "$topic" 1 2>/dev/null
pport=$(free_port)
start projector "$tmp/projector-q.log" STATUS_TOPIC=$topic PROJECTOR_DB="$qdb" \
	PROJECTOR_ADMIN_LISTEN="127.0.0.1:$pport" PROJECTOR_GROUP=bench-q
p=$last_pid
wait_http "http://127.0.0.1:$pport/healthz" || exit 1
for _ in $(seq 1 200); do
	[ "$(sqlite3 "$qdb" "SELECT count(*) FROM sqlite_master" 2>/dev/null || echo 0)" -gt 0 ] && break
	sleep 0.05
done
kill -TERM "$p" && wait "$p" 2>/dev/null
sqlite3 "$qdb" "PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $NOTIFS - 1)
INSERT INTO notifications SELECT 'bench', 'q-' || i, 'sms', 'delivered', '+4915112345678',
  'hello', printf('%032x', i), 'p-' || i, '', 1740830400000, 1740830400000, 4, 0, i, '', i FROM n;
-- the figures of those notifications, as the projector would keep them: spread over the
-- last three hours (a minute of entries per kind), latencies in a few buckets, and a
-- tail of anomalies
INSERT INTO fig_counts VALUES ('bench', 'sms', 'delivered', $NOTIFS);
WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < 179)
INSERT INTO fig_minutes SELECT 'bench', CAST(strftime('%s','now') AS INTEGER) / 60 - i, 'sms', k.kind,
  $NOTIFS / 180 FROM m, (SELECT 'accepted' AS kind UNION ALL SELECT 'processing'
  UNION ALL SELECT 'sent' UNION ALL SELECT 'delivered') k;
WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < 179),
  b(j) AS (SELECT 20 UNION ALL SELECT j + 1 FROM b WHERE j < 40)
INSERT INTO fig_latency SELECT 'bench', CAST(strftime('%s','now') AS INTEGER) / 60 - i, 'sms',
  'delivered', j, 100 FROM m, b;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
INSERT INTO anomalies SELECT 'bench', 1740830400000 + i, 'q-' || i, printf('%032x', i), 'stale',
  'sent arrived after delivered', 0, i FROM n;" \
	>/dev/null || exit 1
qport=$(free_port)
start query "$tmp/query.log" QUERY_DB="$qdb" QUERY_LISTEN="127.0.0.1:$qport" \
	QUERY_ADMIN_LISTEN="127.0.0.1:$(free_port)"
q=$last_pid
wait_http "http://127.0.0.1:$qport/readyz" || exit 1
wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$qport/healthz" >/dev/null 2>&1
# Three rounds, the three runs of a round one after the other, each figure the median of
# its rounds: on a shared 2-core host a single run can be off by a third. The lookup
# script sent to /healthz (BENCH_PATH) gives a baseline with the same client work, beside
# the plain one.
qcpu=0 qn=0 hcpu=0 hn=0
for r in 1 2 3; do
	c0=$(cpu_ticks "$q")
	wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$qport/healthz" >"$tmp/qbase$r.txt" 2>&1
	c1=$(cpu_ticks "$q")
	BENCH_IDS=$NOTIFS wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$top/bench/get_notification.lua" \
		"http://127.0.0.1:$qport" >"$tmp/qget$r.txt" 2>&1
	c2=$(cpu_ticks "$q")
	BENCH_IDS=$NOTIFS BENCH_PATH="/healthz?q-" wrk -t2 -c"$CONNS" -d"${SECS}s" \
		-s "$top/bench/get_notification.lua" "http://127.0.0.1:$qport" >"$tmp/qsame$r.txt" 2>&1
	hcpu=$((hcpu + c1 - c0)) hn=$((hn + $(requests "$tmp/qbase$r.txt")))
	qcpu=$((qcpu + c2 - c1)) qn=$((qn + $(requests "$tmp/qget$r.txt")))
done
median_rps() { median "$(rps "$tmp/${1}1.txt")" "$(rps "$tmp/${1}2.txt")" "$(rps "$tmp/${1}3.txt")"; }
qbase=$(median_rps qbase) qget=$(median_rps qget) qsame=$(median_rps qsame)
qerr=$(cat "$tmp"/qget?.txt | awk '/^non-2xx/ {s += $NF} END {print s + 0}')
row "query: GET /notifications/{id}, ${NOTIFS} notifications (req/s, median of 3, non-2xx ${qerr})" \
	"$qget" "$qbase (GET /healthz)" "$(ratio "$qget" "$qbase")" ">= 0.8"
row "query: the same, against GET /healthz sent by the same wrk script (req/s, median of 3)" \
	"$qget" "$qsame (GET /healthz, same script)" "$(ratio "$qget" "$qsame")" ">= 0.8"
row "query: CPU per GET by externalId, against per GET /healthz (us, server process)" \
	"$(per_request_us "$qcpu" "$qn")" "$(per_request_us "$hcpu" "$hn")" \
	"$(ratio "$(per_request_us "$qcpu" "$qn")" "$(per_request_us "$hcpu" "$hn")")" ""
# what one figures request costs on the same database
wrk -t2 -c8 -d"${SECS}s" -s "$top/bench/get_figures.lua" "http://127.0.0.1:$qport" \
	>"$tmp/qfig.txt" 2>&1
qfig=$(rps "$tmp/qfig.txt")
qfig_lat=$(awk '/^    Latency/ {print $2; exit}' "$tmp/qfig.txt")
qfig_err=$(awk '/^non-2xx/ {print $NF}' "$tmp/qfig.txt")
row "query: GET /figures on ${NOTIFS} notifications (req/s at 8 connections, mean latency; non-2xx ${qfig_err:-0})" \
	"$qfig / $qfig_lat" "$qbase (GET /healthz)" "$(ratio "$qfig" "$qbase")" ""
kill -TERM "$q" && wait "$q" 2>/dev/null
