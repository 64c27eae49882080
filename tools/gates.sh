#!/usr/bin/env bash
# gates.sh -- the structural gates of `make lint` (and so of CI): limits that are not
# checked drift, so each rule the code keeps is checked here.
#
#   1. size:      no product function (common/, the daemons, tools/) longer than
#                 MAX_LINES lines or with a cyclomatic complexity over MAX_CC (pmccabe);
#   2. banned:    no sprintf, vsprintf, strcpy, strcat, atoi, strtok or gets anywhere in C
#                 sources (tests included): snprintf, bounded copies, strtol with checks;
#   3. includes:  no daemon or tool includes another one's files; tests/lib includes no
#                 daemon; a test runner includes common/ and at most one daemon or tool.
#
#   tools/gates.sh            run every gate, print each violation, exit 1 on any
#   MAX_LINES=80 MAX_CC=20    the limits (defaults)
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
MAX_LINES=${MAX_LINES:-80}
MAX_CC=${MAX_CC:-20}
# Folders holding one binary each: the daemons, then the tools.
UNITS="ingest sender projector query apikey tools/simulator tools/loadgen"
fail=0

gate_size() {
	local out
	if ! command -v pmccabe >/dev/null 2>&1; then
		echo "gates: pmccabe not installed (deploy/install-deps.sh installs it)" >&2
		return 1
	fi
	# pmccabe columns: modified cc, traditional cc, statements, first line, lines, place.
	# shellcheck disable=SC2086
	out=$(pmccabe common/*.c $(for u in $UNITS; do echo "$u"/*.c; done) 2>/dev/null |
		awk -v l="$MAX_LINES" -v c="$MAX_CC" '$2 > c || $5 > l {
			printf "gates: size: %s: %d lines, complexity %d (limits %d, %d)\n", $6 " " $7, $5, $2, l, c
		}')
	[ -z "$out" ] && return 0
	echo "$out"
	return 1
}

gate_banned() {
	local out
	out=$(grep -nE '(^|[^_[:alnum:]])(v?sprintf|strcpy|strcat|atoi|strtok|gets)[[:space:]]*\(' \
		--include='*.c' --include='*.h' -r common tests ingest sender projector query tools |
		grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
	[ -z "$out" ] && return 0
	echo "$out" | sed 's/^/gates: banned function: /'
	return 1
}

# The units (daemon or tool folders) that the includes of file name, one per line.
units_included() {
	local f=$1 dir inc path
	dir=$(dirname "$f")
	grep -hoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' "$f" |
		sed -E 's/.*"([^"]+)"/\1/' | while read -r inc; do
		# Resolve against the including file's folder, then against -I. (the top).
		if [ -e "$dir/$inc" ]; then
			path=$(realpath --relative-to="$top" "$dir/$inc")
		else
			path=$inc
		fi
		for u in $UNITS; do
			case "$path" in "$u"/*) echo "$u" ;; esac
		done
	done | sort -u
}

gate_includes() {
	local rc=0 f u owner n
	for u in $UNITS; do
		for f in "$u"/*.[ch]; do
			[ -e "$f" ] || continue
			for owner in $(units_included "$f"); do
				if [ "$owner" != "$u" ]; then
					echo "gates: include: $f includes files of $owner"
					rc=1
				fi
			done
		done
	done
	for f in common/*.[ch] tests/lib/*.[ch]; do
		for owner in $(units_included "$f"); do
			echo "gates: include: $f includes files of $owner (shared code includes no daemon)"
			rc=1
		done
	done
	for f in tests/*/*.c; do
		case "$f" in tests/lib/*) continue ;; esac
		n=$(units_included "$f" | wc -l)
		if [ "$n" -gt 1 ]; then
			echo "gates: include: $f includes files of $n daemons or tools:" \
				"$(units_included "$f" | tr '\n' ' ')"
			rc=1
		fi
	done
	return $rc
}

for g in size banned includes; do
	if ! "gate_$g"; then
		fail=1
	fi
done
if [ "$fail" -ne 0 ]; then
	echo "gates: FAILED"
	exit 1
fi
echo "gates: size (<= $MAX_LINES lines, complexity <= $MAX_CC), banned functions, includes: ok"
