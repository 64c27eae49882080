#!/bin/sh
# install-deps.sh -- put every Debian package the project needs on a Debian 12 machine.
#
#   deploy/install-deps.sh               install whatever is missing (apt-get, as root or sudo)
#   deploy/install-deps.sh --if-missing  the same, silent when everything is already there
#   deploy/install-deps.sh --list        print the package list
#   add --tests (after the other flag) for what only the test suites need: Debian's
#   Chromium, its WebDriver and Python's Selenium bindings (the dashboard's browser test)
#
# Build: gcc make pkg-config and the -dev packages of librdkafka, sqlite3, jansson, civetweb,
# libcurl, OpenSSL (libcrypto), Check. Broker: a JDK (17+) and Maven to fetch the jars,
# kcat to probe it. Tools: clang-format, cppcheck, pmccabe (make lint), clang and its
# libFuzzer runtime (make fuzz), valgrind, wrk (make bench),
# curl (the quick start).
set -eu

PACKAGES="gcc make pkg-config librdkafka-dev libsqlite3-dev sqlite3 libjansson-dev
libcivetweb-dev libcurl4-openssl-dev libssl-dev check libsubunit-dev
default-jdk-headless maven kcat curl clang-format cppcheck pmccabe valgrind wrk
clang libclang-rt-14-dev"
TEST_PACKAGES="chromium chromium-driver python3-selenium"
for arg in "$@"; do
	[ "$arg" = "--tests" ] && PACKAGES="$PACKAGES $TEST_PACKAGES"
done

missing() {
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			echo "$p"
	done
}

case "${1:-}" in
--list) echo $PACKAGES; exit 0 ;;
esac

todo=$(missing)
[ -z "$todo" ] && exit 0
echo "install-deps: installing: $(echo $todo)" >&2
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: apt-get not found; install these packages by hand: $(echo $todo)" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo"
else
	echo "install-deps: need root (or passwordless sudo) to install: $(echo $todo)" >&2
	echo "install-deps: run: sudo apt-get install -y $(echo $todo)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null || { echo "install-deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $todo >/dev/null ||
	{ echo "install-deps: apt-get install failed for: $(echo $todo)" >&2; exit 1; }
echo "install-deps: done" >&2
