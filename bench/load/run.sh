#!/usr/bin/env bash
# bench/load/run.sh — ONS CSV loading and replication to a remote InfluxDB, side by side with
# InfluxDB 1.6.7 on the same machine, with the same data and client. See docs/BENCHMARKS.md
# ("Load (ONS CSV) and replication").
#
#   bench/load/run.sh [--skip-load] [--skip-repl] [--perf] [--keep]
# Environment (sizes; defaults in brackets):
#   REPS [5]            repetitions of each part-1 measurement (medians reported)
#   LOAD_MONTH [2024-01], LOAD_PLANTS [700]   the ONS CSV: volta gen --ons-generation (~520k rows)
#   REPL_POINTS [2000000]  points written in part 2 (whole days of `volta gen --plants 500`)
#   REPL_REPS [3]       repetitions of each part-2 measurement
#   PACE_FRAC [0.8]     part 2b paces the writes at this fraction of InfluxDB's measured rate
#   CONC [4], BATCH [5000]   client connections and lines per body (as bench/ingest)
#   VOLTA_BIN=<volta> skips the build (else Release in $VOLTA_BUILD_DIR, default build-bench/);
#   INFLUXD=<influxd> (default /usr/bin/influxd).
#
# Part 1: `volta gen --ons-generation` writes a month of generation in ONS's CSV format; it is
# converted to line protocol with volta itself (volta load into a scratch dir, volta export, sorted
# by time = the CSV's row order). Each repetition: `volta load --data <fresh dir>` under
# /usr/bin/time (wall, user+sys), the same on tmpfs (/dev/shm: the cost of fsync), then the line
# protocol posted by lpload (bench/ingest) to a fresh InfluxDB and to a fresh `volta serve`
# (server CPU from /proc/<pid>/stat). --perf records `perf record -g` of one volta load.
# Part 2: `volta gen` line protocol. Each repetition: lppace (lpload + pacing) into a fresh
# InfluxDB alone; then a fresh InfluxDB as the backup of a fresh `volta serve`
# ([backend.idb] type = "influx"), the same writes to volta while lagwatch.py samples /health every
# 100 ms, until the backup has caught up. Then the paced runs at PACE_FRAC x InfluxDB's median rate.
# Results: tables on stdout, appended to bench/results/load-<date>.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/load"
REPS=${REPS:-5}
LOAD_MONTH=${LOAD_MONTH:-2024-01}
LOAD_PLANTS=${LOAD_PLANTS:-700}
REPL_POINTS=${REPL_POINTS:-2000000}
REPL_REPS=${REPL_REPS:-3}
PACE_FRAC=${PACE_FRAC:-0.8}
CONC=${CONC:-4}
BATCH=${BATCH:-5000}
INFLUXD=${INFLUXD:-/usr/bin/influxd}
SKIP_LOAD=0
SKIP_REPL=0
PERF=0
KEEP=0

usage() {
    sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
    --skip-load) SKIP_LOAD=1; shift ;;
    --skip-repl) SKIP_REPL=1; shift ;;
    --perf) PERF=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

TMP=$(mktemp -d /tmp/volta-bench-load.XXXXXX)
SHM=""
PIDS=() # servers and samplers this script started
cleanup() {
    local p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
        fi
    done
    for p in ${PIDS[@]+"${PIDS[@]}"}; do
        wait "$p" 2>/dev/null || true
    done
    [ -n "$SHM" ] && rm -rf "$SHM"
    if [ "$KEEP" = 1 ]; then
        log "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

stop_pid() { # pid seconds
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "process $pid did not stop in $2 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    local q keep=()
    for q in ${PIDS[@]+"${PIDS[@]}"}; do [ "$q" = "$pid" ] || keep+=("$q"); done
    PIDS=(${keep[@]+"${keep[@]}"})
}

CLK_TCK=$(getconf CLK_TCK)
cpu_s() { # pid -> utime + stime in seconds (fields 14, 15 of /proc/pid/stat; comm has no spaces)
    awk -v hz="$CLK_TCK" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$1/stat"
}

kv() { # "key=value ..." key -> value
    sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}

# ---- servers: each sets URL_<kind> and PID_<kind> ----
start_influx() { # name -> sets IDB_URL IDB_PID
    local dir="$TMP/influx-$1" http rpc
    rm -rf "$dir"
    mkdir -p "$dir"
    http=$(free_port)
    rpc=$(free_port)
    sed -e "s|@DIR@|$dir|g" -e "s|@HTTP_PORT@|$http|g" -e "s|@RPC_PORT@|$rpc|g" \
        "$ROOT/bench/ingest/influxd.conf.in" >"$dir/influxd.conf"
    "$INFLUXD" run -config "$dir/influxd.conf" >"$dir/influxd.log" 2>&1 &
    IDB_PID=$!
    PIDS+=("$IDB_PID")
    IDB_URL="http://127.0.0.1:$http"
    wait_ping "$IDB_URL" 30 "$IDB_PID" || { tail -20 "$dir/influxd.log" >&2; die "influxd did not start"; }
}

start_volta() { # name [backend-url] -> sets V_URL V_PID (volta), V_TPID (/usr/bin/time), V_LIFE
    local dir="$TMP/volta-$1" port i
    rm -rf "$dir"
    mkdir -p "$dir"
    port=$(free_port)
    {
        echo "[server]"
        echo "data = \"$dir/data\""
        echo "listen = \"127.0.0.1:$port\""
        if [ -n "${2:-}" ]; then
            echo "[backend.idb]"
            echo "type = \"influx\""
            echo "url = \"$2\""
            echo "retry_max_ms = 500"
        fi
    } >"$dir/volta.toml"
    # under /usr/bin/time: the CPU of its whole life, shutdown flush included, is in $V_LIFE
    V_LIFE="$dir/life.txt"
    /usr/bin/time -f '%e %U %S' -o "$V_LIFE" "$VOLTA" serve --config "$dir/volta.toml" --no-landing \
        >"$dir/volta.log" 2>&1 &
    V_TPID=$!
    PIDS+=("$V_TPID")
    V_PID=""
    for ((i = 0; i < 100; i++)); do
        V_PID=$(cat "/proc/$V_TPID/task/$V_TPID/children" 2>/dev/null | awk '{print $1}')
        [ -n "$V_PID" ] && break
        sleep 0.05
    done
    [ -n "$V_PID" ] || die "volta serve did not start (no child of /usr/bin/time $V_TPID)"
    PIDS+=("$V_PID")
    V_URL="http://127.0.0.1:$port"
    wait_ping "$V_URL" 30 "$V_PID" || { tail -20 "$dir/volta.log" >&2; die "volta serve did not start"; }
}

# ---- 1. build ----
if [ -n "${VOLTA_BIN:-}" ]; then
    VOLTA=$(cd "$(dirname "$VOLTA_BIN")" && pwd)/$(basename "$VOLTA_BIN")
    log "using VOLTA_BIN=$VOLTA (no build)"
else
    BUILD=${VOLTA_BUILD_DIR:-$ROOT/build-bench}
    log "building volta (Release) in $BUILD"
    if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVOLTA_TESTS=OFF &&
        cmake --build "$BUILD" -j2 --target volta; } >"$TMP/cmake.log" 2>&1; then
        tail -15 "$TMP/cmake.log" >&2
        die "volta does not build (log above)"
    fi
    VOLTA="$BUILD/volta"
fi
"$VOLTA" load --help >/dev/null 2>&1 || die "$VOLTA has no 'load' command"
[ -x "$INFLUXD" ] || die "no $INFLUXD (apt-get install influxdb): nothing to compare with"
make -s -C "$HERE" OUT="$TMP/bin" >/dev/null || die "cannot build lppace/lpload"
LPLOAD="$TMP/bin/lpload"
LPPACE="$TMP/bin/lppace"
STAT="$HERE/loadstat.py"
RAW="$TMP/raw.tsv"
: >"$RAW"
NOTES=()

# ---- 2. part 1: ONS CSV load ----
run_load_part() {
    local csvdir="$TMP/csv" csv lp rows points out r dir
    mkdir -p "$csvdir"
    csv="$csvdir/GERACAO_USINA-2_${LOAD_MONTH%-*}_${LOAD_MONTH#*-}.csv"
    log "generating $csv: volta gen --ons-generation $LOAD_MONTH --plants $LOAD_PLANTS"
    "$VOLTA" gen --ons-generation "$LOAD_MONTH" --plants "$LOAD_PLANTS" --out "$csv" >/dev/null 2>&1 ||
        die "volta gen --ons-generation failed"
    CSV_ROWS=$(($(wc -l <"$csv") - 1))
    CSV_BYTES=$(stat -c %s "$csv")

    # The same points as line protocol, produced by volta itself.
    log "converting to line protocol: volta load (scratch) + volta export"
    "$VOLTA" load --quiet --data "$TMP/scratch" "$csv" >"$TMP/scratch.out" 2>&1 ||
        die "volta load (scratch) failed: $(cat "$TMP/scratch.out")"
    "$VOLTA" export --data "$TMP/scratch" --db ons >"$TMP/export.lp" 2>"$TMP/export.err" ||
        die "volta export failed: $(cat "$TMP/export.err")"
    lp="$TMP/ons.lp"
    LP_POINTS=$(/usr/bin/python3 "$STAT" tocsvorder "$TMP/export.lp" "$lp")
    rm -rf "$TMP/scratch" "$TMP/export.lp"
    LP_BYTES=$(stat -c %s "$lp")
    log "CSV: $CSV_ROWS rows, $CSV_BYTES bytes; line protocol: $LP_POINTS points, $LP_BYTES bytes"

    SHM=$(mktemp -d /dev/shm/volta-bench-load.XXXXXX 2>/dev/null || true)
    [ -n "$SHM" ] || NOTES+=("no /dev/shm: the tmpfs row is skipped")

    for ((r = 1; r <= REPS; r++)); do
        # volta load, on disk (the measurement) and on tmpfs (fsync ~ free)
        local target kind
        for kind in load_disk load_tmpfs; do
            if [ "$kind" = load_disk ]; then target="$TMP/load-$r"; else
                [ -n "$SHM" ] || continue
                target="$SHM/load-$r"
            fi
            rm -rf "$target"
            /usr/bin/time -v -o "$TMP/time.txt" "$VOLTA" load --quiet --data "$target" "$csv" \
                >"$TMP/load.out" 2>&1 || die "volta load failed: $(cat "$TMP/load.out")"
            local wall user sys rss loaded read inload
            wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0;
                for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s}' "$TMP/time.txt")
            user=$(awk -F': ' '/User time/ {print $2}' "$TMP/time.txt")
            sys=$(awk -F': ' '/System time/ {print $2}' "$TMP/time.txt")
            rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$TMP/time.txt")
            read=$(sed -n 's/.* \([0-9]*\) rows read.*/\1/p' "$TMP/load.out" | head -1)
            loaded=$(sed -n 's/.* \([0-9]*\) points in .*/\1/p' "$TMP/load.out" | head -1)
            inload=$(sed -n 's/.* points in \([0-9.]*\) s .*/\1/p' "$TMP/load.out" | head -1)
            [ "$loaded" = "$LP_POINTS" ] || die "volta load: $loaded points, expected $LP_POINTS"
            awk -v k="$kind" -v r="$r" -v w="$wall" -v u="$user" -v s="$sys" -v rows="$read" \
                -v p="$loaded" -v il="$inload" -v rss="$rss" 'BEGIN {
                printf "%s\t%d\tpoints=%d rows=%d wall=%.3f cpu=%.3f pps=%.0f rps=%.0f inload=%.3f inload_rps=%.0f rss_kib=%d\n",
                    k, r, p, rows, w, u + s, p / w, rows / w, il, rows / il, rss }' >>"$RAW"
            log "$kind $r: $(tail -1 "$RAW" | cut -f3)"
            rm -rf "$target"
        done

        # InfluxDB and volta serve over HTTP, same line protocol, same client
        local srv c0 c1 cl
        for srv in influx_lp volta_lp; do
            if [ "$srv" = influx_lp ]; then
                start_influx "lp-$r"
                URL=$IDB_URL PID=$IDB_PID
            else
                start_volta "lp-$r"
                URL=$V_URL PID=$V_PID
            fi
            create_db "$URL" ons
            c0=$(cpu_s "$PID")
            /usr/bin/time -f '%U %S' -o "$TMP/ctime.txt" \
                "$LPLOAD" -u "$URL/write?db=ons" -f "$lp" -b "$BATCH" -c "$CONC" -l "$srv" >"$TMP/lp.out" ||
                die "lpload failed against $srv"
            c1=$(cpu_s "$PID")
            cl=$(awk '{print $1 + $2}' "$TMP/ctime.txt")
            out=$(cat "$TMP/lp.out")
            local life=0 stop_s t0
            t0=$(date +%s.%N)
            stop_pid "$PID" 120
            if [ "$srv" = volta_lp ]; then
                stop_pid "$V_TPID" 10
                life=$(awk '{print $2 + $3}' "$V_LIFE")
            fi
            stop_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
            awk -v k="$srv" -v r="$r" -v p="$(kv "$out" points)" -v secs="$(kv "$out" seconds)" \
                -v c0="$c0" -v c1="$c1" -v cl="$cl" -v rows="$CSV_ROWS" -v life="$life" -v st="$stop_s" 'BEGIN {
                printf "%s\t%d\tpoints=%d rows=%d wall=%.3f cpu=%.3f client_cpu=%.3f life_cpu=%.3f stop_s=%.3f pps=%.0f rps=%.0f\n",
                    k, r, p, rows, secs, c1 - c0, cl, life, st, p / secs, rows / secs }' >>"$RAW"
            log "$srv $r: $(tail -1 "$RAW" | cut -f3)"
        done
    done

    if [ "$PERF" = 1 ]; then
        if command -v perf >/dev/null 2>&1; then
            log "perf record -g of one volta load"
            rm -rf "$TMP/load-perf"
            if perf record -F 4999 -g -o "$TMP/perf.data" "$VOLTA" load --quiet --data "$TMP/load-perf" "$csv" \
                >/dev/null 2>"$TMP/perf.err"; then
                PERF_OUT=$({ perf report -i "$TMP/perf.data" --no-children --sort symbol --stdio 2>/dev/null ||
                    true; } | awk '/^ +[0-9.]+%/ && n < 25 {sub(/[ -]+$/, ""); print; n++}')
            else
                NOTES+=("perf record failed: $(tail -1 "$TMP/perf.err")")
            fi
            rm -rf "$TMP/load-perf"
        else
            NOTES+=("perf not installed: --perf skipped")
        fi
    fi
}

# ---- 3. part 2: replication ----
repl_run() { # kind rep pace(0 = unpaced) -> one RAW row
    local kind=$1 r=$2 pace=$3 out lagf w st lagstat cnt ok
    start_influx "bk-$kind-$r"
    start_volta "$kind-$r" "$IDB_URL"
    create_db "$V_URL" bench
    lagf="$TMP/lag-$kind-$r.csv"
    /usr/bin/python3 "$HERE/lagwatch.py" "$V_URL" idb "$lagf" &
    w=$!
    PIDS+=("$w")
    sleep 0.3
    local vc0 ic0 vc1 ic1
    vc0=$(cpu_s "$V_PID")
    ic0=$(cpu_s "$IDB_PID")
    out=$("$LPPACE" -u "$V_URL/write?db=bench" -f "$REPL_LP" -b "$BATCH" -c "$CONC" -r "$pace" \
        -l "volta-$kind") || die "lppace failed against volta ($kind)"
    log "$out"
    st=$(/usr/bin/python3 "$STAT" wait "$V_URL" idb 600) || log "backup did not catch up: $st"
    vc1=$(cpu_s "$V_PID")
    ic1=$(cpu_s "$IDB_PID")
    sleep 0.3
    stop_pid "$w" 10
    lagstat=$(/usr/bin/python3 "$STAT" lag "$lagf" "$(kv "$out" t_start)" "$(kv "$st" final_seq)" \
        "$(kv "$out" t_end)" "$(kv "$out" points)" || true)
    cnt=$(/usr/bin/python3 "$STAT" count "$IDB_URL" bench)
    ok=no
    [ "$cnt" = "$(kv "$out" points)" ] && ok=yes
    printf '%s\t%d\tpoints=%s secs=%s client_pps=%s pace=%s behind=%s %s count=%s count_ok=%s volta_cpu=%s idb_cpu=%s\n' \
        "$kind" "$r" "$(kv "$out" points)" "$(kv "$out" seconds)" "$(kv "$out" points_per_s)" "$pace" \
        "$(kv "$out" max_behind_s)" "$lagstat" "$cnt" "$ok" \
        "$(awk -v a="$vc0" -v b="$vc1" 'BEGIN {printf "%.2f", b - a}')" \
        "$(awk -v a="$ic0" -v b="$ic1" 'BEGIN {printf "%.2f", b - a}')" >>"$RAW"
    log "$kind $r: $(tail -1 "$RAW" | cut -f3)"
    [ "$ok" = yes ] || NOTES+=("$kind run $r: the backup holds $cnt points, $(kv "$out" points) written")
    stop_pid "$V_PID" 120
    stop_pid "$V_TPID" 10
    stop_pid "$IDB_PID" 60
    rm -rf "$TMP/volta-$kind-$r" "$TMP/influx-bk-$kind-$r"
}

run_repl_part() {
    local days r out
    days=$(((REPL_POINTS + 508 * 24 - 1) / (508 * 24)))
    REPL_LP="$TMP/repl.lp"
    "$VOLTA" gen --days "$days" --plants 500 --out "$REPL_LP" >/dev/null 2>&1 || die "volta gen failed"
    REPL_LINES=$(wc -l <"$REPL_LP")
    REPL_DESC="volta gen --days $days --plants 500 ($REPL_LINES points, $(stat -c %s "$REPL_LP") bytes)"
    APPLIER_LINES=$(awk -v b="$(stat -c %s "$REPL_LP")" -v n="$REPL_LINES" -v l="$BATCH" 'BEGIN {
        k = int(8388608 / (l * b / n)); if (k < 1) k = 1; print k * l }')
    log "replication data: $REPL_DESC; applier-shaped bodies: $APPLIER_LINES lines"
    for ((r = 1; r <= REPL_REPS; r++)); do
        start_influx "alone-$r"
        create_db "$IDB_URL" bench
        out=$("$LPPACE" -u "$IDB_URL/write?db=bench" -f "$REPL_LP" -b "$BATCH" -c "$CONC" -l idb-alone) ||
            die "lppace failed against InfluxDB"
        printf 'idb_alone\t%d\tpoints=%s secs=%s pps=%s\n' "$r" "$(kv "$out" points)" \
            "$(kv "$out" seconds)" "$(kv "$out" points_per_s)" >>"$RAW"
        log "idb_alone $r: $out"
        stop_pid "$IDB_PID" 60
        rm -rf "$TMP/influx-alone-$r"
        # the applier's request shape: one connection, records merged up to 8 MiB per body
        start_influx "alone1-$r"
        create_db "$IDB_URL" bench
        out=$("$LPPACE" -u "$IDB_URL/write?db=bench" -f "$REPL_LP" -b "$APPLIER_LINES" -c 1 -l idb-alone-1c) ||
            die "lppace failed against InfluxDB"
        printf 'idb_alone_1c\t%d\tpoints=%s secs=%s pps=%s\n' "$r" "$(kv "$out" points)" \
            "$(kv "$out" seconds)" "$(kv "$out" points_per_s)" >>"$RAW"
        log "idb_alone_1c $r: $out"
        stop_pid "$IDB_PID" 60
        rm -rf "$TMP/influx-alone1-$r"
        repl_run repl "$r" 0
    done
    IDB_MED=$(awk -F'\t' '$1 == "idb_alone" {split($3, a, " "); for (i in a) if (a[i] ~ /^pps=/)
        {sub(/pps=/, "", a[i]); print a[i]}}' "$RAW" | sort -n | awk '{v[NR] = $1} END {
        print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
    PACE=$(awk -v m="$IDB_MED" -v f="$PACE_FRAC" 'BEGIN {printf "%.0f", m * f}')
    log "pacing at $PACE_FRAC x $IDB_MED = $PACE points/s"
    for ((r = 1; r <= REPL_REPS; r++)); do
        repl_run paced "$r" "$PACE"
    done
}

PERF_OUT=""
[ "$SKIP_LOAD" = 1 ] || run_load_part
[ "$SKIP_REPL" = 1 ] || run_repl_part

# ---- report ----
mkdir -p "$ROOT/bench/results"
RESULT="$ROOT/bench/results/load-$(date -u +%Y-%m-%d).txt"
{
    echo "volta load + replication benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); shared and noisy; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "influxd: $("$INFLUXD" version 2>/dev/null | head -1)   volta: $("$VOLTA" version)"
    echo "client: lpload (part 1) / lppace (part 2), bodies of $BATCH lines, $CONC keep-alive connections, POST /write (ns)"
    if [ "$SKIP_LOAD" = 0 ]; then
        echo "part 1 data: volta gen --ons-generation $LOAD_MONTH --plants $LOAD_PLANTS: $CSV_ROWS CSV rows, $CSV_BYTES bytes;"
        echo "             as line protocol (volta load + volta export, time order): $LP_POINTS points, $LP_BYTES bytes"
        echo "  volta load: wall and user+sys of the whole process (/usr/bin/time -v), fresh data dir, fsync always"
        echo "  HTTP rows: wall = lpload's first request .. last 204; CPU = server utime+stime (/proc/<pid>/stat)"
    fi
    if [ "$SKIP_REPL" = 0 ]; then
        echo "part 2 data: $REPL_DESC; volta serve + [backend.idb] type=\"influx\" -> a fresh influxd, both on this machine; /health sampled every 100 ms"
        echo "  InfluxDB alone 1 conn: lppace -c 1 -b $APPLIER_LINES (the applier's shape: one connection, $BATCH-line records merged up to 8 MiB)"
        echo "  caught-up s: from the client's first request until the backup's cursor reached the primary's last seq"
        echo "  drain pts/s: what the applier moved between the client's last 204 and caught-up (volta idle by then)"
    fi
    for n in ${NOTES[@]+"${NOTES[@]}"}; do echo "note: $n"; done
    echo
    /usr/bin/python3 "$STAT" report "$RAW"
    echo
    echo "raw rows:"
    sed 's/^/  /' "$RAW"
    if [ -n "$PERF_OUT" ]; then
        echo
        echo "perf record -g of one volta load (self time, top symbols):"
        echo "$PERF_OUT"
    fi
} | { [ -s "$RESULT" ] && echo >>"$RESULT"; tee -a "$RESULT"; } # one file per day, runs appended
log "results written to $RESULT"
