#!/usr/bin/env bash
# bench/ingest/run.sh — ingest benchmark: volta vs InfluxDB 1.6.7 on the same machine, with the same
# client (lpload) and the same data. See docs/BENCHMARKS.md.
#
#   bench/ingest/run.sh [--points N] [--plants N] [--days N] [--concurrency C] [--batch LINES]
#                       [--rounds R] [--skip-volta] [--skip-influx] [--skip-ons] [--ceiling] [--keep]
# Environment: VOLTA_BIN=<volta binary> skips the build; INFLUXD=<influxd> (default /usr/bin/influxd).
#
# Steps: build volta (Release, build-bench/) and lpload; generate the demo data once (volta gen);
# for each server: start it on 127.0.0.1:<free port> with a temporary data dir, create db "bench",
# post the file in bodies of --batch lines over --concurrency keep-alive connections, measure
# points/s, let it settle (InfluxDB: WAL snapshot + full compaction; volta: cold flush + cold
# compaction, the same 5 s / 10 s cold durations; then its graceful stop), read the peak RSS
# (VmHWM), count allocated bytes on disk. Then the same for the real ONS
# load curves (../shared/data/ons/CURVA_CARGA_202[234].csv) when present.
# --rounds R (default 5): the demo file's points/s is compared R times in all: the run above,
# then R-1 load-only rounds (fresh directory, load, stop; no settling) that alternate which
# server goes first. The report gives each round's ratio and their median, the figure to quote
# on a shared machine whose speed drifts within minutes (docs/BENCHMARKS.md).
# --ceiling: also post the demo file to `sink` (bench/ingest/sink.c), a server that reads and
# drops every body: the transport ceiling, i.e. the most any server could take from this client
# on this machine (the client's CPU plus the kernel's loopback copies).
# Results: a table on stdout, appended to bench/results/ingest-<date>.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/ingest"
POINTS=""
PLANTS=500
DAYS=365
CONC=4
BATCH=5000
ROUNDS=5
SKIP_VOLTA=0
SKIP_INFLUX=0
SKIP_ONS=0
KEEP=0
CEILING=0
INFLUXD=${INFLUXD:-/usr/bin/influxd}

usage() {
    sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
    --points) POINTS=$2; shift 2 ;;
    --plants) PLANTS=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --skip-volta) SKIP_VOLTA=1; shift ;;
    --skip-influx) SKIP_INFLUX=1; shift ;;
    --skip-ons) SKIP_ONS=1; shift ;;
    --keep) KEEP=1; shift ;;
    --ceiling) CEILING=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds wants a whole number >= 1, not '$ROUNDS'" >&2; exit 2; }
if [ -n "$POINTS" ]; then
    # lines per day = (plants + 4 load + 4 interchange) * 24
    DAYS=$(( (POINTS + (PLANTS + 8) * 24 - 1) / ((PLANTS + 8) * 24) ))
fi

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

TMP=$(mktemp -d /tmp/volta-bench-ingest.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "$KEEP" = 1 ]; then
        log "kept $TMP"
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

alloc_bytes() { # dir -> allocated bytes (blocks, not apparent size)
    if [ -e "$1" ]; then du -s --block-size=1 "$1" | cut -f1; else echo 0; fi
}

vmhwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

stop_server() { # pid seconds
    local pid=$1 i
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
    SERVER_PID=""
}

# Results of the last run_* call.
R_PPS=0 R_POINTS=0 R_BYTES=0 R_BYTES_NOJ=0 R_RSS=0 R_SETTLE=0

load_file() { # url file label
    local out
    # Each server starts its load on a quiet disk: the data file just written and the previous
    # server's data would otherwise be written back during this load, slowing its fsyncs.
    sync
    sleep 1
    out=$("$LPLOAD" -u "$1/write?db=bench" -f "$2" -b "$BATCH" -c "$CONC" -l "$3") ||
        die "lpload failed against $3"
    log "$out"
    R_POINTS=$(sed -n 's/.* points=\([0-9]*\) .*/\1/p' <<<"$out")
    R_PPS=$(sed -n 's/.* points_per_s=\([0-9]*\).*/\1/p' <<<"$out")
}

# InfluxDB settles when the WAL holds no data (cache snapshotted) and the TSM files have stopped
# changing (full compaction done): polled every 3 s, stable for 5 polls in a row.
influx_settle() { # dir
    local t0=$SECONDS stable=0 prev="" sig walb tmpn
    while [ $((SECONDS - t0)) -lt 300 ]; do
        sleep 3
        walb=$(find "$1/wal" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}')
        tmpn=$(find "$1/data" -type f \( -name '*.tmp' -o -name '*.tsm.tmp' \) 2>/dev/null | wc -l)
        sig=$(find "$1/data" -type f -printf '%p %s\n' 2>/dev/null | sort | md5sum | cut -c1-32)
        if [ "$walb" = 0 ] && [ "$tmpn" = 0 ] && [ "$sig" = "$prev" ]; then
            stable=$((stable + 1))
            # and never before the cold durations (5 s + 10 s) have surely passed
            if [ $stable -ge 5 ] && [ $((SECONDS - t0)) -ge 20 ]; then
                R_SETTLE=$((SECONDS - t0))
                return 0
            fi
        else
            stable=0
        fi
        prev=$sig
    done
    R_SETTLE=$((SECONDS - t0))
    log "InfluxDB did not settle in 300 s (wal bytes $walb); measuring anyway"
}

start_influx() { # dir -> SERVER_PID, SERVER_URL: influxd on a fresh directory, db "bench" created
    local dir=$1 http rpc
    rm -rf "$dir"
    mkdir -p "$dir"
    http=$(free_port)
    rpc=$(free_port)
    sed -e "s|@DIR@|$dir|g" -e "s|@HTTP_PORT@|$http|g" -e "s|@RPC_PORT@|$rpc|g" \
        "$HERE/influxd.conf.in" >"$dir/influxd.conf"
    "$INFLUXD" run -config "$dir/influxd.conf" >"$dir/influxd.log" 2>&1 &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$http"
    wait_ping "$SERVER_URL" 30 "$SERVER_PID" || { tail -20 "$dir/influxd.log" >&2; die "influxd did not start"; }
    create_db "$SERVER_URL" bench
}

run_influx() { # file label
    local dir="$TMP/influx-$2"
    start_influx "$dir"
    load_file "$SERVER_URL" "$1" "influxdb-$2"
    log "influxdb: waiting for snapshot + full compaction"
    influx_settle "$dir"
    R_RSS=$(vmhwm_kib "$SERVER_PID")
    R_BYTES=$(( $(alloc_bytes "$dir/data") + $(alloc_bytes "$dir/wal") ))
    R_BYTES_NOJ=$(alloc_bytes "$dir/data")
    stop_server "$SERVER_PID" 60
    log "influxdb $2: settled in ${R_SETTLE}s, $R_BYTES bytes, peak RSS $R_RSS KiB"
}

# volta settles the same way, with the same cold durations as InfluxDB's configuration above
# (flush_cold_seconds 5 = cache-snapshot-write-cold-duration, compact_cold_seconds 10 =
# compact-full-write-cold-duration): polled every second through /metrics until the memtable is
# empty and one segment file is left, rewritten by a compaction (not a provisional flush output,
# engine.c note 12), stable for 3 polls; then the graceful stop.
volta_settle() { # url
    local t0=$SECONDS stable=0 m mem segs prov
    while [ $((SECONDS - t0)) -lt 300 ]; do
        sleep 1
        m=$(curl -s "$1/metrics" || true)
        mem=$(awk '/^volta_engine_memtable_bytes / {print $2}' <<<"$m")
        segs=$(awk '/^volta_engine_segments / {print $2}' <<<"$m")
        prov=$(awk '/^volta_engine_provisional_segments / {print $2}' <<<"$m")
        if [ "$mem" = 0 ] && [ "$segs" = 1 ] && [ "${prov:-0}" = 0 ]; then
            stable=$((stable + 1))
            if [ $stable -ge 3 ]; then
                R_SETTLE=$((SECONDS - t0))
                return 0
            fi
        else
            stable=0
        fi
    done
    R_SETTLE=$((SECONDS - t0))
    log "volta did not settle in 300 s (memtable $mem bytes, $segs segments); measuring anyway"
}

start_volta() { # dir -> SERVER_PID, SERVER_URL: volta serve on a fresh directory, db "bench" created
    local dir=$1 port
    rm -rf "$dir"
    mkdir -p "$dir"
    port=$(free_port)
    printf '[engine]\nflush_cold_seconds = 5\ncompact_cold_seconds = 10\n' >"$dir/volta.toml"
    "$VOLTA" serve --data "$dir/data" --listen "127.0.0.1:$port" --config "$dir/volta.toml" \
        >"$dir/volta.log" 2>&1 &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port"
    wait_ping "$SERVER_URL" 30 "$SERVER_PID" || { tail -20 "$dir/volta.log" >&2; die "volta serve did not start"; }
    create_db "$SERVER_URL" bench
}

run_volta() { # file label
    local dir="$TMP/volta-$2" url journal
    start_volta "$dir"
    url=$SERVER_URL
    load_file "$url" "$1" "volta-$2"
    log "volta: waiting for the cold flush + compaction"
    volta_settle "$url"
    R_RSS=$(vmhwm_kib "$SERVER_PID")
    local settled=$R_SETTLE t0=$SECONDS
    stop_server "$SERVER_PID" 300
    R_SETTLE=$((settled + SECONDS - t0))
    # the stored data: engine/ (segments, manifest) + journal/; the control plane (meta.db:
    # ledger, audit log, flags, keys) is left out, as InfluxDB's meta/ directory is
    journal=$(alloc_bytes "$dir/data/journal")
    R_BYTES=$(($(alloc_bytes "$dir/data/engine") + journal))
    R_BYTES_NOJ=$((R_BYTES - journal))
    log "volta $2: settled and stopped in ${R_SETTLE}s, $R_BYTES bytes ($journal in the journal), peak RSS $R_RSS KiB"
}

# One more round of the points/s comparison (--rounds): each server loads the file into a fresh
# directory and is stopped, with no settling; the order alternates from round to round, so a
# machine that speeds up or slows down over the run does not favour one server.
quick_round() { # round-number file
    local order=(influx volta) srv
    [ $(($1 % 2)) = 0 ] && order=(volta influx)
    for srv in "${order[@]}"; do
        if [ "$srv" = influx ]; then
            start_influx "$TMP/influx-round"
            load_file "$SERVER_URL" "$2" "influxdb-round$1"
            ROUND_INFLUX+=("$R_PPS")
            stop_server "$SERVER_PID" 60
            rm -rf "$TMP/influx-round"
        else
            start_volta "$TMP/volta-round"
            load_file "$SERVER_URL" "$2" "volta-round$1"
            ROUND_VOLTA+=("$R_PPS")
            stop_server "$SERVER_PID" 300
            rm -rf "$TMP/volta-round"
        fi
    done
}

# ---- 1. build ----
BUILD="$ROOT/build-bench"
VOLTA=""
if [ -n "${VOLTA_BIN:-}" ]; then
    log "using VOLTA_BIN=$VOLTA_BIN (no build)"
    VOLTA="$VOLTA_BIN"
    GEN=("$VOLTA" gen)
elif log "building volta (Release) in $BUILD" &&
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVOLTA_TESTS=OFF >"$TMP/cmake.log" 2>&1 &&
    cmake --build "$BUILD" -j2 --target volta >>"$TMP/cmake.log" 2>&1; then
    VOLTA="$BUILD/volta"
    GEN=("$VOLTA" gen)
else
    tail -15 "$TMP/cmake.log" >&2
    VOLTA_BUILD_NOTE="volta does not build (log above; build-bench/): stand-alone generator, InfluxDB only"
    log "$VOLTA_BUILD_NOTE"
    SKIP_VOLTA=1
    cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/src" -o "$TMP/voltagen" "$HERE/gen_main.c" \
        "$ROOT/src/cli/cmd_gen.c" "$ROOT/src/ingest/demo_gen.c" "$ROOT/src/common/buf.c" \
        "$ROOT/src/common/error.c" -lm || die "cannot build the generator either"
    GEN=("$TMP/voltagen")
fi
VOLTA_NOTE="${VOLTA_BUILD_NOTE:-}"
if [ "$SKIP_VOLTA" = 0 ] && ! "$VOLTA" serve --help >/dev/null 2>&1; then
    VOLTA_NOTE="volta serve is not available in this build: volta skipped"
    log "$VOLTA_NOTE"
    SKIP_VOLTA=1
fi
[ "$SKIP_VOLTA" = 1 ] && [ -z "$VOLTA_NOTE" ] && VOLTA_NOTE="volta skipped"
make -s -C "$HERE" OUT="$TMP/bin" >/dev/null || die "cannot build lpload"
LPLOAD="$TMP/bin/lpload"
SINK="$TMP/bin/sink"
[ -x "$INFLUXD" ] || { SKIP_INFLUX=1; log "no $INFLUXD: InfluxDB skipped"; }

# ---- 2. data ----
DEMO="$TMP/demo.lp"
log "generating demo data: ${GEN[*]} --days $DAYS --plants $PLANTS"
t0=$(date +%s.%N)
"${GEN[@]}" --days "$DAYS" --plants "$PLANTS" --out "$DEMO"
t1=$(date +%s.%N)
DEMO_LINES=$(wc -l <"$DEMO")
GEN_RATE=$(awk -v n="$DEMO_LINES" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}')
log "demo: $DEMO_LINES lines, $(du -h --apparent-size "$DEMO" | cut -f1), ${GEN_RATE} lines/s"

ONS_DIR="$ROOT/../shared/data/ons"
ONS=""
ONS_NOTE=""
if [ "$SKIP_ONS" = 1 ]; then
    ONS_NOTE="ONS files skipped (--skip-ons)"
elif ls "$ONS_DIR"/CURVA_CARGA_202[234].csv >/dev/null 2>&1; then
    ONS="$TMP/ons-load.lp"
    # din_instante is Brasília local time, UTC-3 since 2019: UTC = local + 3 h (bench only).
    /usr/bin/python3 - "$ONS" "$ONS_DIR"/CURVA_CARGA_202[234].csv <<'PY'
import calendar, re, sys, datetime
out = open(sys.argv[1], "w")
plain = re.compile(r"^-?\d+(\.\d+)?$")
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        next(f)
        for row in f:
            sub, _, instant, val = row.rstrip("\r\n").split(";")
            if not val:
                continue
            if not plain.match(val):
                val = repr(float(val))
            t = calendar.timegm(datetime.datetime.strptime(instant, "%Y-%m-%d %H:%M:%S").timetuple())
            out.write("load,subsystem=%s value=%s %d\n" % (sub, val, (t + 3 * 3600) * 10**9))
PY
    log "ONS load curves: $(wc -l <"$ONS") lines"
else
    ONS_NOTE="ONS files absent ($ONS_DIR): real-data rows skipped"
    log "$ONS_NOTE"
fi

# ---- 3..7. runs ----
declare -A RES
record() { # key
    RES[$1]="$R_POINTS $R_PPS $R_BYTES $R_BYTES_NOJ $R_RSS"
}
if [ "$SKIP_INFLUX" = 0 ]; then
    run_influx "$DEMO" demo && record influx-demo
    [ -n "$ONS" ] && run_influx "$ONS" ons && record influx-ons
fi
CEIL_PPS=""
if [ "$CEILING" = 1 ]; then
    port=$(free_port)
    "$SINK" -p "$port" &
    SERVER_PID=$!
    sleep 0.3
    load_file "http://127.0.0.1:$port" "$DEMO" sink
    CEIL_PPS=$R_PPS
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
fi
if [ "$SKIP_VOLTA" = 0 ]; then
    run_volta "$DEMO" demo && record volta-demo
    [ -n "$ONS" ] && run_volta "$ONS" ons && record volta-ons
fi

ROUND_INFLUX=() ROUND_VOLTA=()
if [ "$SKIP_INFLUX" = 0 ] && [ "$SKIP_VOLTA" = 0 ] && [ -n "${RES[influx-demo]:-}" ] &&
    [ -n "${RES[volta-demo]:-}" ]; then
    ROUND_INFLUX=("$(cut -d' ' -f2 <<<"${RES[influx-demo]}")")
    ROUND_VOLTA=("$(cut -d' ' -f2 <<<"${RES[volta-demo]}")")
    for ((round = 2; round <= ROUNDS; round++)); do
        log "round $round of $ROUNDS (points/s only)"
        quick_round "$round" "$DEMO"
    done
fi

# ---- report ----
mkdir -p "$ROOT/bench/results"
RESULT="$ROOT/bench/results/ingest-$(date -u +%Y-%m-%d).txt"
{
    echo "volta ingest benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); shared and noisy"
    echo "influxd: $("$INFLUXD" version 2>/dev/null | head -1)   volta: $([ -n "$VOLTA" ] && "$VOLTA" version || echo 'not built')"
    echo "client: lpload, bodies of $BATCH lines, $CONC keep-alive connections, POST /write?db=bench (ns)"
    echo "demo data: volta gen --days $DAYS --plants $PLANTS ($DEMO_LINES lines, generated at $GEN_RATE lines/s)"
    echo "bytes/pt: allocated blocks (du --block-size=1) after settling of InfluxDB's data/ + wal/ and volta's"
    echo "          engine/ + journal/ (neither server's metadata: InfluxDB's meta/, volta's meta.db);"
    echo "          'w/o log' excludes InfluxDB's WAL (empty once settled) / volta's journal (retained by design)"
    [ -n "$VOLTA_NOTE" ] && echo "note: $VOLTA_NOTE"
    [ -n "$ONS_NOTE" ] && echo "note: $ONS_NOTE"
    echo
    printf '%-6s %-9s %10s %12s %10s %13s %12s\n' dataset server points points/s bytes/pt "bytes/pt w/o" "peak RSS"
    printf '%-6s %-9s %10s %12s %10s %13s %12s\n' "" "" "" "" "" "log" "MiB"
    for ds in demo ons; do
        for srv in influx volta; do
            k="$srv-$ds"
            [ -n "${RES[$k]:-}" ] || continue
            read -r pts pps bytes noj rss <<<"${RES[$k]}"
            awk -v ds="$ds" -v srv="$([ "$srv" = influx ] && echo influxdb || echo volta)" -v pts="$pts" \
                -v pps="$pps" -v b="$bytes" -v nj="$noj" -v rss="$rss" 'BEGIN {
                printf "%-6s %-9s %10d %12d %10.2f %13.2f %12.1f\n", ds, srv, pts, pps, b / pts, nj / pts, rss / 1024 }'
        done
        if [ -n "${RES[influx-$ds]:-}" ] && [ -n "${RES[volta-$ds]:-}" ]; then
            read -r _ ipps ib inj irss <<<"${RES[influx-$ds]}"
            read -r _ vpps vb vnj vrss <<<"${RES[volta-$ds]}"
            awk -v ds="$ds" -v ip="$ipps" -v vp="$vpps" -v ib="$ib" -v vb="$vb" -v inj="$inj" -v vnj="$vnj" \
                -v ir="$irss" -v vr="$vrss" 'BEGIN {
                printf "%-6s %-9s %10s %11.2fx %9.2fx %12.2fx %11.2fx\n", ds, "volta/idb", "", vp / ip, vb / ib, vnj / inj, vr / ir }'
        fi
    done
    if [ "${#ROUND_VOLTA[@]}" -gt 1 ]; then
        echo
        echo "demo points/s in ${#ROUND_VOLTA[@]} rounds (1: the run above; then load-only, fresh directories,"
        echo "the server going first alternating): the ratio to quote is the median"
        printf '%-6s %12s %12s %8s\n' round influxdb volta ratio
        for ((i = 0; i < ${#ROUND_VOLTA[@]}; i++)); do
            echo "$((i + 1)) ${ROUND_INFLUX[$i]} ${ROUND_VOLTA[$i]}"
        done >"$TMP/rounds"
        awk '{ printf "%-6s %12d %12d %7.2fx\n", $1, $2, $3, $3 / $2 }' "$TMP/rounds"
        awk '{ print $3 / $2 }' "$TMP/rounds" | sort -g | awk '{ r[NR] = $1 } END {
            m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
            printf "median ratio %.2fx (lowest %.2fx, highest %.2fx, %d rounds)\n", m, r[1], r[NR], NR }'
    fi
    if [ -n "$CEIL_PPS" ]; then
        printf 'transport ceiling (demo posted to bench/ingest/sink, which drops every body): %d points/s\n' "$CEIL_PPS"
    fi
} | { [ -s "$RESULT" ] && echo >>"$RESULT"; tee -a "$RESULT"; } # one file per day, runs appended
log "results written to $RESULT"
