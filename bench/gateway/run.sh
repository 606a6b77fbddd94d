#!/usr/bin/env bash
# bench/gateway/run.sh — what authentication and rate limiting cost volta's write and query
# throughput (issue 6 target: at most 10 %).
#
#     bench/gateway/run.sh [--days N] [--plants N] [--rounds N] [--seconds S]
#
# Two configurations of the same build, on the same data and clients, alternated ROUNDS times
# (default 3), each on a fresh data directory:
#   open    no API key (protected mode, loopback), no rate limit: the gateway admits at once;
#   gated   an API key sent on every request (x-api-key; checked: BLAKE2b + constant-time
#           compare) and a global rate limit that is on but never reached (rate_limit_rps = 1e9).
# Write: lpload (bench/ingest) POSTs the `volta gen` data (4 connections, 5,000 lines per body).
# Query: wrk (2 threads, 8 connections, SECONDS s) on a cheap query (the gateway's share is
# largest when the query is cheap): SELECT max(value) FROM generation WHERE plant = '<one>'.
# Reported: medians of points/s and requests/s and the ratios gated/open (1.00 = no cost).
# Results are appended to bench/results/gateway-<date>.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DAYS=90
PLANTS=500
ROUNDS=3
SECONDS_Q=5
while [ $# -gt 0 ]; do
    case "$1" in
    --days) DAYS=$2; shift 2 ;;
    --plants) PLANTS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) SECONDS_Q=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "run.sh: wrk is needed (apt-get install wrk)" >&2; exit 2; }

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }
TMP=$(mktemp -d /tmp/volta-bench-gateway.XXXXXX)
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() {
    local i
    for ((i = 0; i < 300; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/ping" || true)" = 204 ] && return 0
        sleep 0.1
    done
    return 1
}

if [ -n "${VOLTA_BIN:-}" ]; then
    VOLTA=$VOLTA_BIN
else
    BUILD="$ROOT/build-bench"
    log "building volta (Release) in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVOLTA_TESTS=OFF >"$TMP/cmake.log" 2>&1 &&
        cmake --build "$BUILD" -j2 --target volta >>"$TMP/cmake.log" 2>&1 || { tail -30 "$TMP/cmake.log" >&2; die "build failed"; }
    VOLTA="$BUILD/volta"
fi
make -s -C "$ROOT/bench/ingest" OUT="$TMP/bin" >/dev/null || die "cannot build lpload"
LPLOAD="$TMP/bin/lpload"
log "generating: volta gen --days $DAYS --plants $PLANTS"
"$VOLTA" gen --days "$DAYS" --plants "$PLANTS" --out "$TMP/demo.lp"
POINTS=$(wc -l <"$TMP/demo.lp")
PLANT=$(grep -m1 '^generation,' "$TMP/demo.lp" | sed 's/.*plant=\(\([^,\\]\|\\.\)*\).*/\1/; s/\\\(.\)/\1/g')
QUERY=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
    "SELECT max(value) FROM generation WHERE plant = '$PLANT'")

# one round of one configuration: prints "<points/s> <requests/s>"
round() {
    local mode=$1 data="$TMP/data-$1-$2" port url key="" hdr=() qp=""
    port=$(free_port)
    url="http://127.0.0.1:$port"
    "$VOLTA" serve --data "$data" --listen "127.0.0.1:$port" --no-landing >"$TMP/serve.log" 2>&1 &
    PID=$!
    wait_ping "$url" || { tail "$TMP/serve.log" >&2; die "volta serve did not start"; }
    if [ "$mode" = gated ]; then
        key=$("$VOLTA" keys create --data "$data" --scope admin --name bench 2>/dev/null)
        "$VOLTA" flags set rate_limit_rps=1000000000 --data "$data" >/dev/null
        for ((i = 0; i < 50; i++)); do # the server picks both up within a second
            [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/query?q=SHOW+DATABASES")" = 401 ] && break
            sleep 0.1
        done
        hdr=(-H "x-api-key: $key")
        qp="&p=$key"
    fi
    curl -s -XPOST "${hdr[@]}" "$url/query" --data-urlencode "q=CREATE DATABASE bench" >/dev/null
    local w
    w=$("$LPLOAD" -u "$url/write?db=bench$qp" -f "$TMP/demo.lp" -b 5000 -c 4 -l "$mode" |
        sed -n 's/.*points_per_s=\([0-9.]*\).*/\1/p')
    local q
    q=$(wrk -t2 -c8 -d"${SECONDS_Q}s" "${hdr[@]}" \
        "$url/query?db=bench&q=$QUERY" |
        sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    local non2xx
    non2xx=$(wrk -t1 -c1 -d1s "${hdr[@]}" "$url/query?db=bench&q=SHOW%20DATABASES" | grep -c "Non-2xx" || true)
    [ "$non2xx" = 0 ] || die "$mode: requests were refused (check the key / rate limit)"
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    rm -rf "$data"
    echo "$w $q"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
: >"$TMP/open" ; : >"$TMP/gated"
for ((r = 1; r <= ROUNDS; r++)); do
    for mode in open gated; do
        res=$(round "$mode" "$r")
        log "round $r $mode: points/s requests/s = $res"
        echo "$res" >>"$TMP/$mode"
    done
done
OW=$(awk '{print $1}' "$TMP/open" | median); OQ=$(awk '{print $2}' "$TMP/open" | median)
GW=$(awk '{print $1}' "$TMP/gated" | median); GQ=$(awk '{print $2}' "$TMP/gated" | median)
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/gateway-$(date -u +%F).txt"
{
    echo "volta gateway benchmark — $(date -u '+%F %H:%M UTC')"
    echo "machine: $(nproc) cores; shared and noisy. volta: $("$VOLTA" version | head -1)"
    echo "data: volta gen --days $DAYS --plants $PLANTS ($POINTS points); $ROUNDS alternated rounds, medians"
    printf '%-34s %14s %14s %8s\n' "" open gated "gated/open"
    awk -v o="$OW" -v g="$GW" 'BEGIN {printf "%-34s %14.0f %14.0f %8.3f\n", "write points/s (lpload, 4 conn)", o, g, g / o}'
    awk -v o="$OQ" -v g="$GQ" 'BEGIN {printf "%-34s %14.0f %14.0f %8.3f\n", "query requests/s (wrk, 8 conn)", o, g, g / o}'
    echo
} | tee -a "$OUT"
