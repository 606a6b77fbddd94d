#!/usr/bin/env bash
# bench/ingest/pairs.sh — A/B comparison of two volta builds or configurations on the ingest path,
# in alternating pairs (docs/BENCHMARKS.md, "Comparing two builds").
#
#   bench/ingest/pairs.sh [--pairs N] [--file LP] [--days N] [--concurrency C] [--batch LINES]
#                         [--config-a TOML] [--config-b TOML] [--env-a 'K=V ...'] [--env-b 'K=V ...']
#                         VOLTA_A [VOLTA_B]
#
# Each pair runs VOLTA_A and VOLTA_B (VOLTA_B defaults to VOLTA_A: compare two configurations
# or environments of one build), each time as a fresh `volta serve` on a fresh temporary
# directory, loads the same line-protocol file with lpload (4 connections, 5,000-line bodies
# by default, as bench/ingest/run.sh), and stops it. A goes first in odd pairs, B in even
# ones: with a fixed order, the same comparison run each way gave results up to 4 % apart.
# Use an even number of pairs. Per pair it prints both points/s, the
# ratio B/A, and the ratio of the server CPU per point (utime + stime of the server process over
# the load, from /proc/<pid>/stat; both sides load the same points, so it is the ratio of the
# two CPU times), then the geometric means over all pairs.
# The file defaults to `VOLTA_A gen --days N --plants 500` (N = 365: the ingest benchmark's
# demo data). --config-a/-b append TOML lines to each side's configuration (after the
# benchmark's [engine] cold durations, so start with a section header); --env-a/-b set
# environment variables for that side's server.
# Why pairs: this machine's speed drifts by a third within minutes, so two builds are only
# comparable when measured side by side, many times over; a gain under ~3 % needs more than
# 8 pairs to show. Nothing is written to bench/results/: copy what you quote.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/ingest"
PAIRS=8
FILE=""
DAYS=365
CONC=4
BATCH=5000
CONFIG_A="" CONFIG_B="" ENV_A="" ENV_B=""

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "pairs.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --pairs) PAIRS=$2; shift 2 ;;
    --file) FILE=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --config-a) CONFIG_A=$2; shift 2 ;;
    --config-b) CONFIG_B=$2; shift 2 ;;
    --env-a) ENV_A=$2; shift 2 ;;
    --env-b) ENV_B=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --*) echo "pairs.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || { usage >&2; exit 2; }
VOLTA_A=$1
VOLTA_B=${2:-$1}
[[ "$PAIRS" =~ ^[1-9][0-9]*$ ]] || die "--pairs wants a whole number >= 1, not '$PAIRS'"
((PAIRS % 2 == 0)) || echo "pairs.sh: an odd number of pairs lets A go first once more than B" >&2
for b in "$VOLTA_A" "$VOLTA_B"; do
    "$b" serve --help >/dev/null 2>&1 || die "$b: not a volta binary with 'serve'"
done

TMP=$(mktemp -d /tmp/volta-bench-pairs.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

make -s -C "$HERE" OUT="$TMP/bin" >/dev/null || die "cannot build lpload"
if [ -z "$FILE" ]; then
    FILE="$TMP/demo.lp"
    "$VOLTA_A" gen --days "$DAYS" --plants 500 --out "$FILE" >/dev/null 2>&1 || die "volta gen failed"
fi
[ -s "$FILE" ] || die "$FILE: empty or missing"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One load against a fresh server: sets R_PPS (points/s) and R_CPU (server CPU ticks over the load).
R_PPS=0 R_CPU=0
one_load() { # binary config env
    local dir="$TMP/run" port url i out c0 c1
    rm -rf "$dir"
    mkdir -p "$dir"
    printf '[engine]\nflush_cold_seconds = 5\ncompact_cold_seconds = 10\n%b\n' "$2" >"$dir/volta.toml"
    port=$(free_port)
    # shellcheck disable=SC2086 # the environment is a list of K=V words
    env $3 "$1" serve --data "$dir/data" --listen "127.0.0.1:$port" --config "$dir/volta.toml" \
        >"$dir/volta.log" 2>&1 &
    SERVER_PID=$!
    url="http://127.0.0.1:$port"
    for ((i = 0; i < 300; i++)); do
        curl -sf -o /dev/null "$url/ping" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -5 "$dir/volta.log" >&2; die "$1 did not start"; }
        sleep 0.1
    done
    curl -sf -o /dev/null -XPOST "$url/query" --data-urlencode "q=CREATE DATABASE bench" ||
        die "CREATE DATABASE failed against $1"
    sync
    sleep 1
    c0=$(cpu_ticks "$SERVER_PID")
    out=$("$TMP/bin/lpload" -u "$url/write?db=bench" -f "$FILE" -b "$BATCH" -c "$CONC" -l pair) ||
        die "lpload failed against $1"
    c1=$(cpu_ticks "$SERVER_PID")
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    R_PPS=$(sed -n 's/.* points_per_s=\([0-9]*\).*/\1/p' <<<"$out")
    R_CPU=$((c1 - c0))
    [ -n "$R_PPS" ] && [ "$R_PPS" -gt 0 ] && [ "$R_CPU" -gt 0 ] || die "no measurement from: $out"
}

echo "A: $VOLTA_A ${CONFIG_A:+config '$CONFIG_A' }${ENV_A:+env '$ENV_A'}"
echo "B: $VOLTA_B ${CONFIG_B:+config '$CONFIG_B' }${ENV_B:+env '$ENV_B'}"
echo "file: $FILE ($(wc -l <"$FILE") lines), $CONC connections, bodies of $BATCH lines"
: >"$TMP/pairs"
for ((p = 1; p <= PAIRS; p++)); do
    if ((p % 2 == 1)); then
        one_load "$VOLTA_A" "$CONFIG_A" "$ENV_A"
        pa=$R_PPS ca=$R_CPU
        one_load "$VOLTA_B" "$CONFIG_B" "$ENV_B"
        pb=$R_PPS cb=$R_CPU first=A
    else
        one_load "$VOLTA_B" "$CONFIG_B" "$ENV_B"
        pb=$R_PPS cb=$R_CPU
        one_load "$VOLTA_A" "$CONFIG_A" "$ENV_A"
        pa=$R_PPS ca=$R_CPU first=B
    fi
    echo "$p $pa $ca $pb $cb $first" | tee -a "$TMP/pairs" | awk '{
        printf "pair %-3d A %9d points/s (CPU %4d ticks)  B %9d points/s (CPU %4d ticks)  B/A %.3f  CPU per point B/A %.3f  (%s first)\n",
               $1, $2, $3, $4, $5, $4 / $2, $5 / $3, $6 }'
done
awk '{ s += log($4 / $2); t += log($5 / $3); n++ }
     END { printf "geometric mean over %d pairs: points/s B/A %.3f, server CPU per point B/A %.3f\n",
                  n, exp(s / n), exp(t / n) }' "$TMP/pairs"
