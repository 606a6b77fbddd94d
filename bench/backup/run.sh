#!/usr/bin/env bash
# bench/backup/run.sh — backup and restore throughput: `volta backup` (full, then incremental),
# `volta backup verify` and `volta restore` of a volta data directory holding the demo data, next
# to `cp -r` and `sha256sum` of the same files, and `influxd backup -portable` of the same data
# loaded into a real InfluxDB 1.6.7.
#
#   bench/backup/run.sh [--days N] [--plants N] [--keep]
#   VOLTA_BIN=build/volta bench/backup/run.sh      # no build
#
# Builds volta (Release) in build-bench-backup/, generates `volta gen --days N --plants N`, loads
# it into volta and InfluxDB (servers on 127.0.0.1, free ports, temporary directories), then
# times each step with the page cache dropped where possible (it is not as root-less: the
# figures say "warm" when it could not be). Appends the table to bench/results/backup-<date>.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/backup"
DAYS=365
PLANTS=1000
KEEP=0
INFLUXD=${INFLUXD:-/usr/bin/influxd}
while [ $# -gt 0 ]; do
    case "$1" in
    --days) DAYS=$2; shift 2 ;;
    --plants) PLANTS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

TMP=$(mktemp -d /tmp/volta-bench-backup.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
    done
    if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() { # url seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/ping" || true)" = 204 ] && return 0
        sleep 0.1
    done
    return 1
}
drop_caches() { sync; if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then CACHE=cold; else CACHE=warm; fi; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", (s > 0 ? n / 1e6 / s : 0)}'; }
mb() { awk -v n="$1" 'BEGIN {printf "%.1f", n / 1e6}'; }
bytes_of() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'; }
files_of() { find "$@" -type f 2>/dev/null | wc -l; }

# ---- build ----
if [ -n "${VOLTA_BIN:-}" ]; then
    VOLTA=$VOLTA_BIN
else
    BUILD="$ROOT/build-bench-backup"
    log "building volta (Release) in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVOLTA_TESTS=OFF >"$TMP/cmake.log" 2>&1 &&
        cmake --build "$BUILD" -j2 --target volta >>"$TMP/cmake.log" 2>&1 || { tail -30 "$TMP/cmake.log" >&2; die "build failed"; }
    VOLTA="$BUILD/volta"
fi
BACKUP=("$VOLTA" backup)
"$VOLTA" backup --help >/dev/null 2>&1 || die "$VOLTA has no backup command"
HAVE_RESTORE=0
"$VOLTA" restore --help >/dev/null 2>&1 && HAVE_RESTORE=1
make -s -C "$ROOT/bench/ingest" OUT="$TMP/bin" >/dev/null || die "cannot build lpload"
LPLOAD="$TMP/bin/lpload"

# ---- data ----
DEMO="$TMP/demo.lp"
log "generating: volta gen --days $DAYS --plants $PLANTS"
"$VOLTA" gen --days "$DAYS" --plants "$PLANTS" --out "$DEMO"
LINES=$(wc -l <"$DEMO")
head -n $((LINES * 95 / 100)) "$DEMO" >"$TMP/part1.lp"
tail -n +$((LINES * 95 / 100 + 1)) "$DEMO" >"$TMP/part2.lp"

# ---- volta ----
VDATA="$TMP/volta-data"
VPORT=$(free_port)
VURL="http://127.0.0.1:$VPORT"
"$VOLTA" serve --data "$VDATA" --listen "127.0.0.1:$VPORT" --no-landing >"$TMP/volta.log" 2>&1 &
VPID=$!
PIDS+=("$VPID")
wait_ping "$VURL" 30 || { tail "$TMP/volta.log" >&2; die "volta serve did not start"; }
curl -s -XPOST "$VURL/query" --data-urlencode "q=CREATE DATABASE bench" >/dev/null
log "loading $LINES lines into volta (95 %, then 5 % after the first backup)"
"$LPLOAD" -u "$VURL/write?db=bench" -f "$TMP/part1.lp" -b 5000 -c 4 -l volta >&2
sleep 3
REPO="$TMP/repo"

drop_caches
t0=$(now); "${BACKUP[@]}" --repo "$REPO" --host "$VURL" >"$TMP/b1.out"; t1=$(now)
B1_S=$(secs "$t0" "$t1"); B1_CACHE=$CACHE
B1_BYTES=$(bytes_of "$REPO/objects"); B1_FILES=$(files_of "$REPO/objects")
log "full backup: $(cat "$TMP/b1.out")"

"$LPLOAD" -u "$VURL/write?db=bench" -f "$TMP/part2.lp" -b 5000 -c 4 -l volta >&2
sleep 3
drop_caches
t0=$(now); "${BACKUP[@]}" --repo "$REPO" --host "$VURL" >"$TMP/b2.out"; t1=$(now)
B2_S=$(secs "$t0" "$t1")
B2_NEW=$(sed -n 's/.*new: \([0-9]*\) files, \([0-9.]*\) MB.*/\1 files, \2 MB/p' "$TMP/b2.out")
B2_ALL=$(sed -n 's/.*): \([0-9]*\) files, \([0-9.]*\) MB;.*/\1 files, \2 MB/p' "$TMP/b2.out")
log "incremental backup: $(cat "$TMP/b2.out")"
ID2=$("${BACKUP[@]}" list --repo "$REPO" --json | tail -1 | sed 's/.*"id":"\([^"]*\)".*/\1/')

# the same files as the second backup, copied and hashed by the classic tools
SNAPFILES="$TMP/files"
mkdir -p "$SNAPFILES"
# the server is live and trims its journal: a file listed by cp can be gone when it is read
for try in 1 2 3 4 5; do
    rm -rf "${SNAPFILES:?}"/*
    cp -r "$VDATA/engine" "$VDATA/journal" "$SNAPFILES/" 2>/dev/null && break
    [ "$try" = 5 ] && die "cannot copy $VDATA (files keep vanishing)"
    sleep 0.2
done
SRC_BYTES=$(bytes_of "$SNAPFILES"); SRC_FILES=$(files_of "$SNAPFILES")
drop_caches
t0=$(now); cp -r "$SNAPFILES" "$TMP/cp-copy"; sync; t1=$(now); CP_S=$(secs "$t0" "$t1")
drop_caches
t0=$(now); find "$SNAPFILES" -type f -print0 | xargs -0 sha256sum >/dev/null; t1=$(now); SHA_S=$(secs "$t0" "$t1")
drop_caches
t0=$(now); "${BACKUP[@]}" verify --repo "$REPO" >"$TMP/verify.out"; t1=$(now); V_S=$(secs "$t0" "$t1")
V_BYTES=$(sed -n 's/.*objects, \([0-9.]*\) MB.*/\1/p' "$TMP/verify.out")
log "verify: $(cat "$TMP/verify.out")"
R_S="-"
if [ "$HAVE_RESTORE" = 1 ]; then
    drop_caches
    t0=$(now); "$VOLTA" restore "$ID2" --repo "$REPO" --to "$TMP/restored" >"$TMP/restore.out" 2>&1; t1=$(now)
    R_S=$(secs "$t0" "$t1")
    R_BYTES=$(bytes_of "$TMP/restored/engine" "$TMP/restored/journal")
    log "restore: $(tail -3 "$TMP/restore.out")"
    # cp -r of exactly the bytes the restore wrote (its engine/ and journal/), cold
    mkdir -p "$TMP/rcp-src"
    cp -r "$TMP/restored/engine" "$TMP/restored/journal" "$TMP/rcp-src/"
    drop_caches
    t0=$(now); cp -r "$TMP/rcp-src" "$TMP/rcp-copy"; sync; t1=$(now); RCP_S=$(secs "$t0" "$t1")
    drop_caches
    t0=$(now); find "$TMP/rcp-src" -type f -print0 | xargs -0 sha256sum >/dev/null; t1=$(now)
    RSHA_S=$(secs "$t0" "$t1")
fi
kill -TERM "$VPID"; wait "$VPID" || true

# ---- InfluxDB 1.6.7 ----
IDIR="$TMP/influx"
mkdir -p "$IDIR"
IHTTP=$(free_port); IRPC=$(free_port)
sed -e "s|@DIR@|$IDIR|g" -e "s|@HTTP_PORT@|$IHTTP|g" -e "s|@RPC_PORT@|$IRPC|g" \
    "$ROOT/bench/ingest/influxd.conf.in" >"$IDIR/influxd.conf"
"$INFLUXD" run -config "$IDIR/influxd.conf" >"$IDIR/influxd.log" 2>&1 &
IPID=$!
PIDS+=("$IPID")
IURL="http://127.0.0.1:$IHTTP"
wait_ping "$IURL" 30 || { tail "$IDIR/influxd.log" >&2; die "influxd did not start"; }
curl -s -XPOST "$IURL/query" --data-urlencode "q=CREATE DATABASE bench" >/dev/null
log "loading $LINES lines into InfluxDB"
"$LPLOAD" -u "$IURL/write?db=bench" -f "$DEMO" -b 5000 -c 4 -l influxdb >&2
log "waiting 20 s for InfluxDB's snapshot and compaction"
sleep 20
I_DATA=$(bytes_of "$IDIR/data" "$IDIR/wal")
drop_caches
t0=$(now); "$INFLUXD" backup -portable -host "127.0.0.1:$IRPC" "$TMP/influx-backup" >"$TMP/ib.log" 2>&1; t1=$(now)
IB_S=$(secs "$t0" "$t1"); IB_BYTES=$(bytes_of "$TMP/influx-backup")
kill -TERM "$IPID"; wait "$IPID" || true

# influxd restore -portable of that backup into a fresh InfluxDB (the restore it offers)
IDIR2="$TMP/influx2"
mkdir -p "$IDIR2"
IHTTP2=$(free_port); IRPC2=$(free_port)
sed -e "s|@DIR@|$IDIR2|g" -e "s|@HTTP_PORT@|$IHTTP2|g" -e "s|@RPC_PORT@|$IRPC2|g" \
    "$ROOT/bench/ingest/influxd.conf.in" >"$IDIR2/influxd.conf"
"$INFLUXD" run -config "$IDIR2/influxd.conf" >"$IDIR2/influxd.log" 2>&1 &
IPID2=$!
PIDS+=("$IPID2")
wait_ping "http://127.0.0.1:$IHTTP2" 30 || { tail "$IDIR2/influxd.log" >&2; die "influxd did not start"; }
drop_caches
t0=$(now); "$INFLUXD" restore -portable -host "127.0.0.1:$IRPC2" "$TMP/influx-backup" >"$TMP/ir.log" 2>&1; t1=$(now)
IR_S=$(secs "$t0" "$t1")
IR_COUNT=$(curl -s "http://127.0.0.1:$IHTTP2/query?db=bench" --data-urlencode "q=SELECT count(value) FROM load" | sed -n 's/.*"values":\[\["[^"]*",\([0-9]*\).*/\1/p')
kill -TERM "$IPID2"; wait "$IPID2" || true

# ---- report ----
OUT="$ROOT/bench/results/backup-$(date -u +%Y-%m-%d).txt"
{
    echo "== backup and restore, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, cache: $B1_CACHE"
    echo "data: volta gen --days $DAYS --plants $PLANTS ($LINES points); volta data files: $SRC_FILES files, $(mb "$SRC_BYTES") MB"
    printf '%-44s %10s %10s %10s\n' "step" "MB" "seconds" "MB/s"
    printf '%-44s %10s %10s %10s\n' "volta backup (full, first)" "$(mb "$B1_BYTES")" "$B1_S" "$(mbps "$B1_BYTES" "$B1_S")"
    printf '%-44s %10s %10s %10s\n' "volta backup (incremental after +5 %)" "$(mb "$(($(bytes_of "$REPO/objects") - B1_BYTES))")" "$B2_S" "-"
    echo "    incremental: references $B2_ALL, copied $B2_NEW"
    printf '%-44s %10s %10s %10s\n' "cp -r of the same files (+ sync)" "$(mb "$SRC_BYTES")" "$CP_S" "$(mbps "$SRC_BYTES" "$CP_S")"
    printf '%-44s %10s %10s %10s\n' "volta backup verify (every backup)" "$V_BYTES" "$V_S" "$(awk -v m="$V_BYTES" -v s="$V_S" 'BEGIN {printf "%.0f", m / s}')"
    printf '%-44s %10s %10s %10s\n' "sha256sum of the same files" "$(mb "$SRC_BYTES")" "$SHA_S" "$(mbps "$SRC_BYTES" "$SHA_S")"
    if [ "$R_S" != "-" ]; then
        printf '%-44s %10s %10s %10s\n' "volta restore (copy + hash + open + verify)" "$(mb "$R_BYTES")" "$R_S" "$(mbps "$R_BYTES" "$R_S")"
        printf '%-44s %10s %10s %10s\n' "cp -r of the restored files (+ sync)" "$(mb "$R_BYTES")" "$RCP_S" "$(mbps "$R_BYTES" "$RCP_S")"
        printf '%-44s %10s %10s %10s\n' "sha256sum of the restored files" "$(mb "$R_BYTES")" "$RSHA_S" "$(mbps "$R_BYTES" "$RSHA_S")"
    fi
    printf '%-44s %10s %10s %10s\n' "influxd backup -portable (InfluxDB 1.6.7)" "$(mb "$IB_BYTES")" "$IB_S" "$(mbps "$IB_BYTES" "$IB_S")"
    printf '%-44s %10s %10s %10s\n' "influxd restore -portable (fresh InfluxDB)" "$(mb "$IB_BYTES")" "$IR_S" "$(mbps "$IB_BYTES" "$IR_S")"
    echo "    InfluxDB data+wal: $(mb "$I_DATA") MB; its backup: $(mb "$IB_BYTES") MB; restored load points: ${IR_COUNT:-?}"
    if [ "$R_S" != "-" ]; then
        echo "    ratio restore time influxd restore -portable / volta restore: $(awk -v a="$IR_S" -v b="$R_S" 'BEGIN {printf "%.1fx", a / b}')"
        echo "    ratio volta restore MB/s / cp -r MB/s of the same (restored) bytes: $(awk -v r="$R_S" -v c="$RCP_S" 'BEGIN {printf "%.2fx", c / r}')"
    fi
} | tee -a "$OUT"
