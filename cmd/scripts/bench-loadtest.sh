#!/usr/bin/env bash
# bench-loadtest.sh: compare bin/loadtest with wrk and hey, in one go,
# against the same trivial HTTP endpoint on 127.0.0.1, with the same number
# of connections and the same duration, in interleaved rounds. Prints each
# tool's requests per second (median of the rounds) and the ratios
# loadtest/wrk and loadtest/hey against the targets (>= 0.8 and >= 1.2).
#
# Installs what it needs: wrk from Debian (apt-get), hey built once from
# the Go module proxy and cached under ~/.cache/benchwrap (outside the
# repository). Everything it starts is stopped by PID on exit.
#
# Environment:
#   CONNS=50        connections for every tool
#   DURATION=10     seconds per run
#   ROUNDS=3        rounds; each runs all three tools, order rotated
#   WRK_THREADS=2   wrk threads (wrk's default)
#   STRICT=0        1: exit 1 when a target is missed
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONNS=${CONNS:-50}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WRK_THREADS=${WRK_THREADS:-2}
STRICT=${STRICT:-0}
HEY_VERSION=v0.1.5
CACHE=$HOME/.cache/benchwrap
export GOPROXY=https://proxy.golang.org
export GOFLAGS=${GOFLAGS:--buildvcs=false}

log() { printf '%s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------
log "building bin/loadtest"
(cd "$ROOT/loadgen" && go build -o "$ROOT/bin/loadtest" ./cmd/loadtest)
LOADTEST=$ROOT/bin/loadtest

if ! command -v wrk >/dev/null; then
	log "installing wrk (apt-get)"
	if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y wrk >/dev/null 2>&1 || {
		$SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null
	}
fi
WRK=$(command -v wrk)

HEY=$CACHE/hey-$HEY_VERSION/hey
if [ ! -x "$HEY" ]; then
	log "building hey $HEY_VERSION into $HEY"
	wrap=$(mktemp -d)
	mkdir -p "$(dirname "$HEY")"
	cat >"$wrap/go.mod" <<MOD
module heywrapper

go 1.26

require github.com/rakyll/hey $HEY_VERSION
MOD
	cat >"$wrap/tools.go" <<'SRC'
//go:build tools

package tools

import _ "github.com/rakyll/hey"
SRC
	(cd "$wrap" && GOWORK=off go mod tidy >/dev/null 2>&1 && GOWORK=off go build -o "$HEY" github.com/rakyll/hey)
	rm -rf "$wrap"
fi

# --- endpoint ----------------------------------------------------------
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

"$LOADTEST" serve -addr 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
URL=
for _ in $(seq 100); do
	URL=$(head -n1 "$WORK/serve.out" 2>/dev/null || true)
	[ -n "$URL" ] && break
	sleep 0.05
done
[ -n "$URL" ] || { log "endpoint did not start: $(cat "$WORK/serve.err")"; exit 1; }
"$LOADTEST" "$URL" 1 1 1 -q --no-progress | grep -q 'ok=1,' || { log "endpoint does not answer 200"; exit 1; }
log "endpoint $URL (bin/loadtest serve: Go net/http, 200 \"ok\"), $CONNS connections, ${DURATION}s per run, $ROUNDS rounds"

# --- runs --------------------------------------------------------------
run_loadtest() {
	"$LOADTEST" "$URL" 0 "$CONNS" --duration "${DURATION}s" -q --no-progress |
		sed -n 's/.*rps=\([0-9.]*\),.*/\1/p'
}
run_wrk() {
	"$WRK" -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" "$URL" |
		awk '/^Requests\/sec:/ {print $2}'
}
run_hey() {
	"$HEY" -z "${DURATION}s" -c "$CONNS" "$URL" |
		awk '/Requests\/sec:/ {print $2}'
}

# A short warm-up so the first measured run does not pay for cold caches.
"$WRK" -t1 -c"$CONNS" -d1s "$URL" >/dev/null

tools=(loadtest wrk hey)
declare -A results
ratios_wrk=
ratios_hey=
for round in $(seq "$ROUNDS"); do
	declare -A this=()
	for i in 0 1 2; do
		tool=${tools[$(((i + round - 1) % 3))]}
		rps=$("run_$tool")
		[ -n "$rps" ] || { log "$tool produced no result"; exit 1; }
		results[$tool]+="$rps "
		this[$tool]=$rps
		log "round $round: $tool $rps req/s"
	done
	ratios_wrk+="$(awk -v a="${this[loadtest]}" -v b="${this[wrk]}" 'BEGIN {printf "%.3f", a / b}') "
	ratios_hey+="$(awk -v a="${this[loadtest]}" -v b="${this[hey]}" 'BEGIN {printf "%.3f", a / b}') "
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
lt=$(median <<<"${results[loadtest]}")
wr=$(median <<<"${results[wrk]}")
he=$(median <<<"${results[hey]}")
rw=$(median <<<"$ratios_wrk")
rh=$(median <<<"$ratios_hey")

# The machine is shared, so its capacity drifts between rounds: the
# verdict uses the median of the per-round ratios (runs seconds apart),
# and the ratio of the medians is shown next to it.
awk -v lt="$lt" -v wr="$wr" -v he="$he" -v rw="$rw" -v rh="$rh" \
	-v sl="${results[loadtest]}" -v sw="${results[wrk]}" -v sh="${results[hey]}" \
	-v qw="$ratios_wrk" -v qh="$ratios_hey" \
	-v conns="$CONNS" -v dur="$DURATION" -v strict="$STRICT" '
BEGIN {
	printf "\nbench-loadtest: %d connections, %ds per run; requests/second, median of %d rounds\n", conns, dur, split(sl, tmp, " ")
	printf "  %-9s %9.0f   rounds: %s\n", "loadtest", lt, sl
	printf "  %-9s %9.0f   rounds: %s\n", "wrk", wr, sw
	printf "  %-9s %9.0f   rounds: %s\n", "hey", he, sh
	okA = rw >= 0.8; okB = rh >= 1.2
	printf "  loadtest/wrk = %.2f (per-round: %s; ratio of medians %.2f), target >= 0.80: %s\n", rw, qw, lt / wr, okA ? "met" : "MISSED"
	printf "  loadtest/hey = %.2f (per-round: %s; ratio of medians %.2f), target >= 1.20: %s\n", rh, qh, lt / he, okB ? "met" : "MISSED"
	exit (strict && !(okA && okB)) ? 1 : 0
}'
