# projector.sh -- events/s folded into SQLite against kcat reading the same topic (sourced
# by bench/run.sh). The fold is timed from the first message consumed to the last batch
# committed (the projector's own gauges); the consumer group join is reported apart. Three
# rounds, each kcat then a projector with a new group and an empty read model; each figure
# is the median of its three (one run of a second or so moved by a third with the
# machine's neighbours).

topic="bench.projector"
"$top/deploy/kafka/kafka.sh" create "$tmp/kafka" "$topic" 6 2>/dev/null
# EVENTS events: for each notification a requested, a dispatched, sent and delivered,
# keyed by the notification's reference so that one notification is one partition.
awk -v n="$EVENTS" 'BEGIN {
	for (i = 0; i < n / 4; i++) {
		id = sprintf("bench-%d", i); key = "bench:" id; ts = "2025-03-01T12:00:00.000Z"
		head = "{\"v\":1,\"id\":\"%032x\",\"type\":\"%s\",\"tenant\":\"bench\",\"externalId\":\"%s\",\"channel\":\"%s\",\"occurredAt\":\"%s\",\"receivedAt\":\"%s\",\"source\":\"%s\",\"data\":"
		printf "%s\t" head "{\"to\":\"+4915112345678\",\"body\":\"hello %d\"}}\n", key, i * 4, "requested", id, "sms", ts, ts, "api", i
		printf "%s\t" head "{\"status\":\"processing\",\"providerId\":\"p-%d\"}}\n", key, i * 4 + 1, "dispatched", id, "sms", ts, ts, "sender", i
		printf "%s\t" head "{\"status\":\"sent\"}}\n", key, i * 4 + 2, "status", id, "", ts, ts, "provider"
		printf "%s\t" head "{\"status\":\"delivered\"}}\n", key, i * 4 + 3, "status", id, "", ts, ts, "provider"
	}
}' >"$tmp/events.tsv"
total=$(wc -l <"$tmp/events.tsv")
kcat -P -b "$bootstrap" -t "$topic" -K $'\t' -z lz4 -X linger.ms=50 <"$tmp/events.tsv" || exit 1

kcat_round() { # kcat_round: events/s kcat reads the whole topic at
	local t0 t1 got
	t0=$(date +%s%N)
	got=$(kcat -C -b "$bootstrap" -t "$topic" -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l)
	t1=$(date +%s%N)
	awk -v n="$got" -v ns=$((t1 - t0)) 'BEGIN { printf "%d", n / (ns / 1e9) }'
}

fold_round() { # fold_round N: projector round N; sets fr_rate, fr_folded, fr_join (ms)
	local pport pid first last
	fr_folded=0
	pport=$(free_port)
	start projector "$tmp/projector$1.log" STATUS_TOPIC=$topic PROJECTOR_DB="$tmp/bench$1.db" \
		PROJECTOR_ADMIN_LISTEN="127.0.0.1:$pport" PROJECTOR_GROUP="bench$1"
	pid=$last_pid
	wait_http "http://127.0.0.1:$pport/healthz" || return 1
	for _ in $(seq 1 1200); do
		fr_folded=$(metric "http://127.0.0.1:$pport" projector_events_total | cut -d. -f1)
		[ "${fr_folded:-0}" -ge "$total" ] && break
		sleep 0.1
	done
	first=$(metric "http://127.0.0.1:$pport" projector_first_message_ms | cut -d. -f1)
	last=$(metric "http://127.0.0.1:$pport" projector_last_commit_ms | cut -d. -f1)
	fr_join=$(metric "http://127.0.0.1:$pport" projector_assigned_ms | cut -d. -f1)
	fr_rate=$(awk -v n="$fr_folded" -v ms=$((last - first)) \
		'BEGIN { if (ms > 0) printf "%d", n / (ms / 1000); else print 0 }')
	kill -TERM "$pid" && wait "$pid" 2>/dev/null
	rm -f "$tmp/bench$1.db"*
}

kcat_rates=() fold_rates=() joins=() folded=$total
for r in 1 2 3; do
	kcat_rates+=("$(kcat_round)")
	fold_round "$r" || exit 1
	fold_rates+=("$fr_rate") joins+=("$fr_join")
	[ "$fr_folded" -lt "$folded" ] && folded=$fr_folded # the fewest any round folded
done
echo "bench: projector rounds: kcat ${kcat_rates[*]}; fold ${fold_rates[*]} (events/s)" >&2
kcat_rate=$(median "${kcat_rates[@]}")
proj_rate=$(median "${fold_rates[@]}")
assigned=$(median "${joins[@]}")
row "projector: events/s folded into SQLite, first message to last commit (median of 3; ${folded}/${total})" \
	"$proj_rate" "$kcat_rate (kcat consume, median of 3)" "$(ratio "$proj_rate" "$kcat_rate")" ">= 0.5"
row "projector: group join and assignment, from start (ms, median of 3)" "$assigned" "" "" ""
per_million=$(awk -v r="$proj_rate" 'BEGIN { if (r > 0) printf "%.1f", 1e6 / r; else print "n/a" }')
row "projector: rebuild time per million events (s)" "$per_million" "" "" ""
