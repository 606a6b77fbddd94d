#!/usr/bin/env bash
# bench/snapshot/run.sh — `volta snapshot create` time at several data sizes, next to `cp -r` of
# the same files (the cost a copying snapshot would pay) and to InfluxDB 1.6.7's closest
# operation, `influxd backup -portable` of the same points (InfluxDB has no snapshot command).
# The claim under test: a snapshot takes constant time whatever the data size (target < 100 ms).
#
#   bench/snapshot/run.sh                 # sizes 30 and 365 days of `volta gen` (500 plants)
#   SIZES="30 90 365" REPS=5 bench/snapshot/run.sh
#   VOLTA_BIN=build-rel/volta bench/snapshot/run.sh     (no build)
# Servers run on 127.0.0.1:<free port> in temporary directories, removed at exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZES=${SIZES:-"30 365"}
REPS=${REPS:-5}
INFLUXD=${INFLUXD:-/usr/bin/influxd}
TMP=$(mktemp -d /tmp/volta-bench-snapshot.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

if [ -n "${VOLTA_BIN:-}" ]; then VOLTA=$VOLTA_BIN; else
    log "building volta (Release) in $ROOT/build-bench"
    cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DVOLTA_TESTS=OFF >/dev/null
    cmake --build "$ROOT/build-bench" -j2 --target volta >/dev/null
    VOLTA=$ROOT/build-bench/volta
fi
make -s -C "$ROOT/bench/ingest" OUT="$TMP/bin" >/dev/null
LPLOAD=$TMP/bin/lpload

wait_ping() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1/ping" && return 0; sleep 0.1; done; return 1; }

OUT=$TMP/report.txt
{
echo "volta snapshot benchmark — $(date -u '+%Y-%m-%d %H:%M') UTC"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $REPS; snapshot = \`volta snapshot create --host\` (HTTP round trip included)"
printf "%6s %12s %8s %6s %12s %10s %14s %9s %11s\n" days points "data MB" files "snapshot ms" "cp -r ms" "influxd bk ms" "cp/snap" "influx/snap"
} >"$OUT"

for days in $SIZES; do
    log "size: $days days"
    "$VOLTA" gen --days "$days" --plants 500 --out "$TMP/d.lp" 2>/dev/null
    points=$(wc -l <"$TMP/d.lp")
    # volta
    port=$(free_port); data=$TMP/v$days
    "$VOLTA" serve --data "$data" --listen 127.0.0.1:$port --no-landing >"$TMP/v.log" 2>&1 & PIDS+=($!)
    wait_ping "http://127.0.0.1:$port"
    curl -s -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=CREATE DATABASE ons" >/dev/null
    "$LPLOAD" -u "http://127.0.0.1:$port/write?db=ons" -c 4 -b 5000 -f "$TMP/d.lp" >/dev/null
    curl -s -o /dev/null "http://127.0.0.1:$port/ping"
    sleep 2
    mb=$(du -sm "$data/engine" "$data/journal" | awk '{s+=$1} END {print s}')
    files=$(find "$data/engine" "$data/journal" -type f | wc -l)
    snaps=(); cps=()
    for _ in $(seq 1 "$REPS"); do
        t0=$(now_ms); "$VOLTA" snapshot create --host "http://127.0.0.1:$port" >/dev/null; t1=$(now_ms)
        snaps+=($((t1 - t0)))
        sync; mkdir -p "$TMP/cp"; t0=$(now_ms); cp -r "$data/engine" "$data/journal" "$TMP/cp/"; t1=$(now_ms)
        cps+=($((t1 - t0))); rm -rf "$TMP/cp"
    done
    kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
    snap_ms=$(printf "%s\n" "${snaps[@]}" | median)
    cp_ms=$(printf "%s\n" "${cps[@]}" | median)
    # InfluxDB: the same points, then influxd backup -portable (its closest operation)
    ib_ms=-
    if [ -x "$INFLUXD" ]; then
        hp=$(free_port); rp=$(free_port); idir=$TMP/i$days
        sed -e "s|@DIR@|$idir|g" -e "s|@HTTP_PORT@|$hp|g" -e "s|@RPC_PORT@|$rp|g" "$ROOT/bench/ingest/influxd.conf.in" >"$TMP/i.conf" 2>/dev/null || true
        if grep -q "$idir" "$TMP/i.conf" 2>/dev/null; then
            "$INFLUXD" -config "$TMP/i.conf" >"$TMP/i.log" 2>&1 & PIDS+=($!)
            wait_ping "http://127.0.0.1:$hp"
            curl -s -XPOST "http://127.0.0.1:$hp/query" --data-urlencode "q=CREATE DATABASE ons" >/dev/null
            "$LPLOAD" -u "http://127.0.0.1:$hp/write?db=ons" -c 4 -b 5000 -f "$TMP/d.lp" >/dev/null
            ibs=()
            for k in $(seq 1 "$REPS"); do
                t0=$(now_ms); influxd backup -portable -host "127.0.0.1:$rp" -database ons "$TMP/ib$k" >/dev/null 2>&1; t1=$(now_ms)
                ibs+=($((t1 - t0))); rm -rf "$TMP/ib$k"
            done
            ib_ms=$(printf "%s\n" "${ibs[@]}" | median)
            kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
        fi
    fi
    ratio=$(awk -v a="$cp_ms" -v b="$snap_ms" 'BEGIN {printf "%.1fx", (b > 0 ? a / b : 0)}')
    iratio=$(awk -v a="$ib_ms" -v b="$snap_ms" 'BEGIN {if (a == "-") print "-"; else printf "%.1fx", (b > 0 ? a / b : 0)}')
    printf "%6s %12s %8s %6s %12s %10s %14s %9s %11s\n" "$days" "$points" "$mb" "$files" "$snap_ms" "$cp_ms" "$ib_ms" "$ratio" "$iratio" >>"$OUT"
    rm -rf "$data" "$TMP/d.lp"
done
cat "$OUT"
mkdir -p "$ROOT/bench/results"
{ cat "$OUT"; echo; } >>"$ROOT/bench/results/snapshot-$(date -u +%Y-%m-%d).txt"
