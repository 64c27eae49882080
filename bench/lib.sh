# lib.sh -- what the benchmark parts share (sourced by bench/run.sh): ports, waits, wrk and
# loadgen figures, /proc readings, metrics, and the result table.

cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$top/deploy/kafka/kafka.sh" stop "$tmp/kafka" >/dev/null 2>&1
	rm -rf "$tmp"
}

# A port nothing listens on, below the kernel's ephemeral range (an outgoing connection's
# local port there would make a later bind fail), and not handed out before in this run
# (the file: `$(free_port)` runs in a subshell).
free_port() {
	local p lo
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		grep -qx "$p" "$tmp/ports" 2>/dev/null && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		echo "$p" >>"$tmp/ports"
		echo "$p"
		return
	done
}

wait_http() { # wait_http URL: up to 60 s for a 200
	for _ in $(seq 1 1200); do
		curl -sf -o /dev/null "$1" && return 0
		sleep 0.05
	done
	echo "bench: $1 did not come up; the daemons' logs end with:" >&2
	for l in "$tmp"/*.log; do
		[ -f "$l" ] && { echo "== $l" && tail -n 5 "$l"; } >&2
	done
	return 1
}

start() { # start NAME LOG ENV=VALUE...: a daemon of build/bin or a tool of build/tools
	local name=$1 log=$2 exe
	shift 2
	exe="$bin/$name"
	[ -x "$exe" ] || exe="$tools/$name"
	env "$@" "$exe" 2>>"$log" &
	pids+=($!)
	last_pid=$!
}

rps() { awk '/^Requests\/sec:/ {printf "%d", $2}' "$1"; }

requests() { awk '/requests in/ {n = $1} END {print n + 0}' "$1"; } # requests FILE: of a wrk run

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

per_request_us() { # per_request_us TICKS REQUESTS: CPU clock ticks spread over requests, in us
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" \
		'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "n/a" }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

json_field() { # json_field JSON NAME: a number of a flat JSON object
	echo "$1" | sed -n "s/.*\"$2\":\([-0-9.]*\).*/\1/p"
}

cpu_ticks() { # cpu_ticks PID: utime + stime in clock ticks
	awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

rss_mb() { # rss_mb PID
	awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"
}

metric() { # metric URL NAME{LABELS}: the sum of the matching series of a /metrics page
	curl -s "$1/metrics" | awk -v m="$2" 'index($0, m) == 1 { s += $NF } END { printf "%.6f", s + 0 }'
}

now_ms() { date +%s%3N; }

row() { # row MEASURE FIGURE BASELINE RATIO TARGET
	printf '%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5" >>"$table"
	printf 'bench: %s: %s (baseline %s, ratio %s, target %s)\n' "$1" "$2" "$3" "$4" "$5" >&2
}

print_table() {
	local md="$tmp/table.md"
	{
		echo "| measure | figure | baseline | ratio | target |"
		echo "|---|---|---|---|---|"
		awk -F'|' '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$table"
	} >"$md"
	echo
	echo "nstatus benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), broker JIT $KAFKA_JIT"
	echo
	column -t -s'|' -N "measure,figure,baseline,ratio,target" "$table" 2>/dev/null || cat "$md"
	if [ -n "$OUT" ]; then
		cp "$md" "$OUT"
		echo
		echo "bench: table written to $OUT"
	fi
}
