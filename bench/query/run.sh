#!/usr/bin/env bash
# bench/query/run.sh — query latency benchmark: volta vs InfluxDB 1.6.7 on the same machine, with the
# same data and the same client (qtime). See docs/BENCHMARKS.md ("Queries").
#
#   bench/query/run.sh [--days N] [--plants N] [--reps N] [--warmup N] [--budget S] [--only q1,q2]
#                      [--perf QUERY] [--skip-influx] [--keep] [--reuse DIR]
# Environment: VOLTA_BIN=<volta binary> skips the build; INFLUXD=<influxd> (default /usr/bin/influxd).
#
# Steps: build volta (Release, build-bench/), lpload (bench/ingest) and qtime; generate the demo data
# (volta gen, default 365 days x 500 plants = 4.45 M points); load it into a fresh InfluxDB (temp
# dir, loopback, free ports) and wait for its snapshot + full compaction; load it into a fresh
# volta serve, stop it (SIGTERM flushes the memtable into segments) and start it again on the same
# directory. Then, both servers up, for every query of bench/query/queries.py: compare the two JSON
# answers (floats within 1e-9 relative; a disagreement is reported, not timed), then time it with
# qtime (warm-up, then REPS alternating rounds; medians). --perf QUERY records `perf record -g` of
# volta while it runs QUERY for ~5 s and prints the top functions by self time (--perf auto: the
# query with the lowest ratio). --reuse DIR takes the data directories of an earlier --keep run
# (DIR/influx, DIR/volta) and skips generating and loading.
# Results: the table on stdout, appended to bench/results/query-<date>.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/query"
PLANTS=500
DAYS=365
REPS=7
WARMUP=1
BUDGET=40
ONLY=""
PERF_QUERY=""
SKIP_INFLUX=0
KEEP=0
REUSE=""
INFLUXD=${INFLUXD:-/usr/bin/influxd}

usage() {
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
    --plants) PLANTS=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --perf) PERF_QUERY=$2; shift 2 ;;
    --skip-influx) SKIP_INFLUX=1; shift ;;
    --keep) KEEP=1; shift ;;
    --reuse) REUSE=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

if [ -n "$REUSE" ]; then
    [ -d "$REUSE/volta" ] || die "--reuse $REUSE: no $REUSE/volta (make one with --keep)"
    TMP=$(cd "$REUSE" && pwd)
    KEEP=1
else
    TMP=$(mktemp -d /tmp/volta-bench-query.XXXXXX)
fi
INFLUX_PID=""
VOLTA_PID=""
stop_server() { # pid seconds
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "server $pid did not stop in $2 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_server "$INFLUX_PID" 60
    stop_server "$VOLTA_PID" 300
    if [ "$KEEP" = 1 ]; then
        log "kept $TMP (re-run with --reuse $TMP)"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ping() { # url seconds pid
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/ping" || true)" = 204 ]; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

create_db() { # url db
    local code
    code=$(curl -s -o "$TMP/create.out" -w '%{http_code}' -XPOST "$1/query" \
        --data-urlencode "q=CREATE DATABASE $2")
    [ "$code" = 200 ] || die "CREATE DATABASE $2 at $1: HTTP $code $(cat "$TMP/create.out")"
}

load_file() { # url file label
    local out
    out=$("$LPLOAD" -u "$1/write?db=bench" -f "$2" -b 5000 -c 4 -l "$3") || die "lpload failed against $3"
    log "$out"
}

# volta settles when its cold compaction has merged the segments of the load into one per store
# (polled from /metrics every 2 s, at most 300 s): the counterpart of influx_settle.
volta_settle() { # url
    local t0=$SECONDS segs
    while [ $((SECONDS - t0)) -lt 300 ]; do
        segs=$(curl -s "$1/metrics" | awk '/^volta_engine_segments /{print $2}')
        if [ -n "$segs" ] && [ "$segs" -le 1 ]; then
            log "volta settled in $((SECONDS - t0)) s ($segs segment)"
            return 0
        fi
        sleep 2
    done
    log "volta did not settle in 300 s ($segs segments); querying anyway"
}

# InfluxDB settles when the WAL holds no data (cache snapshotted) and the TSM files have stopped
# changing (full compaction done): polled every 3 s, stable for 5 polls (as bench/ingest/run.sh).
influx_settle() { # dir
    local t0=$SECONDS stable=0 prev="" sig walb tmpn
    while [ $((SECONDS - t0)) -lt 300 ]; do
        sleep 3
        walb=$(find "$1/wal" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}')
        tmpn=$(find "$1/data" -type f -name '*.tmp' 2>/dev/null | wc -l)
        sig=$(find "$1/data" -type f -printf '%p %s\n' 2>/dev/null | sort | md5sum | cut -c1-32)
        if [ "$walb" = 0 ] && [ "$tmpn" = 0 ] && [ "$sig" = "$prev" ]; then
            stable=$((stable + 1))
            if [ $stable -ge 5 ] && [ $((SECONDS - t0)) -ge 20 ]; then
                log "influxdb settled in $((SECONDS - t0)) s"
                return 0
            fi
        else
            stable=0
        fi
        prev=$sig
    done
    log "InfluxDB did not settle in 300 s (wal bytes $walb); querying anyway"
}

start_influx() { # dir -> INFLUX_URL, INFLUX_PID
    local dir=$1 http rpc
    mkdir -p "$dir"
    http=$(free_port)
    rpc=$(free_port)
    sed -e "s|@DIR@|$dir|g" -e "s|@HTTP_PORT@|$http|g" -e "s|@RPC_PORT@|$rpc|g" \
        "$ROOT/bench/ingest/influxd.conf.in" >"$dir/influxd.conf"
    "$INFLUXD" run -config "$dir/influxd.conf" >>"$dir/influxd.log" 2>&1 &
    INFLUX_PID=$!
    INFLUX_URL="http://127.0.0.1:$http"
    wait_ping "$INFLUX_URL" 60 "$INFLUX_PID" || { tail -20 "$dir/influxd.log" >&2; die "influxd did not start"; }
}

start_volta() { # dir -> VOLTA_URL, VOLTA_PID
    local dir=$1 port
    mkdir -p "$dir"
    port=$(free_port)
    # like InfluxDB's compact-full-write-cold-duration = 10s in bench/ingest/influxd.conf.in
    printf '[engine]\ncompact_cold_seconds = 10\n' >"$dir/volta.toml"
    "$VOLTA" serve --data "$dir/data" --listen "127.0.0.1:$port" --config "$dir/volta.toml" \
        >>"$dir/volta.log" 2>&1 &
    VOLTA_PID=$!
    VOLTA_URL="http://127.0.0.1:$port"
    wait_ping "$VOLTA_URL" 120 "$VOLTA_PID" || { tail -20 "$dir/volta.log" >&2; die "volta serve did not start"; }
}

# ---- 1. build ----
BUILD="$ROOT/build-bench"
if [ -n "${VOLTA_BIN:-}" ]; then
    log "using VOLTA_BIN=$VOLTA_BIN (no build)"
    VOLTA="$VOLTA_BIN"
else
    log "building volta (Release) in $BUILD"
    if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVOLTA_TESTS=OFF >"$TMP/cmake.log" 2>&1 &&
        cmake --build "$BUILD" -j2 --target volta >>"$TMP/cmake.log" 2>&1; }; then
        tail -15 "$TMP/cmake.log" >&2
        die "volta does not build (log above); a query benchmark needs it (or set VOLTA_BIN)"
    fi
    VOLTA="$BUILD/volta"
fi
"$VOLTA" serve --help >/dev/null 2>&1 || die "$VOLTA has no 'serve'"
make -s -C "$ROOT/bench/ingest" OUT="$TMP/bin" >/dev/null || die "cannot build lpload"
make -s -C "$HERE" OUT="$TMP/bin" >/dev/null || die "cannot build qtime"
LPLOAD="$TMP/bin/lpload"
QTIME="$TMP/bin/qtime"
if [ "$SKIP_INFLUX" = 0 ] && [ ! -x "$INFLUXD" ]; then
    log "no $INFLUXD: InfluxDB skipped"
    SKIP_INFLUX=1
fi

# ---- 2. data + load ----
if [ -z "$REUSE" ]; then
    DEMO="$TMP/demo.lp"
    log "generating demo data: volta gen --days $DAYS --plants $PLANTS"
    "$VOLTA" gen --days "$DAYS" --plants "$PLANTS" --out "$DEMO"
    echo "volta gen --days $DAYS --plants $PLANTS: $(wc -l <"$DEMO") points, $(du -h --apparent-size "$DEMO" | cut -f1) of line protocol" >"$TMP/data.txt"
    log "$(cat "$TMP/data.txt")"
    if [ "$SKIP_INFLUX" = 0 ]; then
        start_influx "$TMP/influx"
        create_db "$INFLUX_URL" bench
        load_file "$INFLUX_URL" "$DEMO" influxdb
        log "influxdb: waiting for snapshot + full compaction"
        influx_settle "$TMP/influx"
    fi
    start_volta "$TMP/volta"
    create_db "$VOLTA_URL" bench
    load_file "$VOLTA_URL" "$DEMO" volta
    log "volta: stopping (flushes the memtable into segments), then starting again"
    t0=$SECONDS
    stop_server "$VOLTA_PID" 300
    VOLTA_PID=""
    log "volta stopped in $((SECONDS - t0)) s"
    rm -f "$DEMO"
    start_volta "$TMP/volta"
else
    log "reusing $TMP"
    [ "$SKIP_INFLUX" = 1 ] || start_influx "$TMP/influx"
    start_volta "$TMP/volta"
fi
volta_settle "$VOLTA_URL"
log "volta data dir: $(du -s --block-size=1 "$TMP/volta/data" | cut -f1) bytes"

# ---- 3. queries ----
mkdir -p "$ROOT/bench/results"
RESULT="$ROOT/bench/results/query-$(date -u +%Y-%m-%d).txt"
OUT="$TMP/table.txt"
: >"$OUT"
args=(--volta "$VOLTA_URL" --db bench --qtime "$QTIME" --reps "$REPS" --warmup "$WARMUP" --budget "$BUDGET" --out "$OUT")
[ "$SKIP_INFLUX" = 1 ] || args+=(--influx "$INFLUX_URL")
[ -z "$ONLY" ] || args+=(--only "$ONLY")
log "queries: check answers, then time (warm-up $WARMUP, $REPS rounds, budget $BUDGET s per query)"
/usr/bin/python3 "$HERE/queries.py" "${args[@]}" >/dev/null

PERF_OUT=""
if [ -n "$PERF_QUERY" ]; then
    if command -v perf >/dev/null; then
        if [ "$PERF_QUERY" = auto ]; then # the query with the lowest ratio influx/volta
            PERF_QUERY=$(awk '$4 ~ /^[0-9.]+x$/ {r = $4 + 0; if (n == "" || r < m) {m = r; n = $1}} END {print n}' "$OUT")
            [ -n "$PERF_QUERY" ] || die "--perf auto: no timed query"
        fi
        q=$(/usr/bin/python3 "$HERE/queries.py" --list | awk -F'\t' -v n="$PERF_QUERY" '$1 == n {print $2}')
        [ -n "$q" ] || die "--perf: no query named $PERF_QUERY"
        log "perf: recording volta while it runs $PERF_QUERY for ~5 s"
        perf record -g -o "$TMP/perf.data" -p "$VOLTA_PID" -- sleep 600 >/dev/null 2>&1 &
        PERF_PID=$!
        sleep 1
        "$QTIME" -w 1 -n 1000 -T 5 -d bench -q "$q" "$VOLTA_URL" "$VOLTA_URL" >/dev/null
        kill -INT "$PERF_PID" 2>/dev/null || true
        wait "$PERF_PID" 2>/dev/null || true
        PERF_OUT=$({ perf report -i "$TMP/perf.data" --no-children --sort symbol --stdio 2>/dev/null || true; } |
            awk '/^ +[0-9.]+%/ && n < 12 {sub(/[ -]+$/, ""); print; n++}')
    else
        log "perf not installed: --perf skipped"
    fi
fi

{
    echo "volta query benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); shared and noisy"
    echo "influxd: $("$INFLUXD" version 2>/dev/null | head -1) (inmem index, bench/ingest/influxd.conf.in)   volta: $("$VOLTA" version) ($VOLTA)"
    echo "data: $(cat "$TMP/data.txt" 2>/dev/null || echo '?'); InfluxDB settled (snapshot + full compaction), volta restarted (flushed) and settled (cold compaction)"
    echo "client: qtime (libcurl, keep-alive, GET /query, JSON), warm-up $WARMUP, $REPS alternating rounds (more, <= 51, while they fit in ~1 s; fewer, >= 3, when they would exceed ${BUDGET} s), median ms"
    [ "$SKIP_INFLUX" = 1 ] && echo "note: InfluxDB skipped (--skip-influx): volta times only, answers not checked"
    echo
    cat "$OUT"
    if [ -n "$PERF_OUT" ]; then
        echo
        echo "perf record -g of volta serve while it runs $PERF_QUERY for ~5 s (self time, top symbols):"
        echo "$PERF_OUT"
    fi
} | { [ -s "$RESULT" ] && echo >>"$RESULT"; tee -a "$RESULT"; }
log "results written to $RESULT"
