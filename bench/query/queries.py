#!/usr/bin/env python3
"""bench/query/queries.py — the query benchmark's driver (run.sh calls it; see docs/BENCHMARKS.md).

    queries.py --influx URL --volta URL --db DB --qtime PATH [--reps N] [--warmup N] [--budget S]
               [--only NAME,..] [--list] [--out FILE]

For each query of QUERIES (name, InfluxQL) over the `volta gen` demo data:
  1. check: GET /query on both servers once, parse both JSON bodies and compare them: same
     structure, same strings, numbers equal within 1e-9 relative (1e-12 absolute near zero). A
     disagreement (or an error on either side) is reported with the first differing path and the
     query is NOT timed.
  2. time: `qtime` (bench/query/qtime.c, libcurl, one keep-alive connection per server) runs the
     warm-up and REPS alternating rounds and gives the median per server.
Prints the table `query | influxdb ms | volta ms | ratio (influx/volta)` and the geometric mean of the
ratios over the timed queries; with --out also writes it there. Exit 0 even when queries disagree
(they are listed); 1 when a server fails outright.
"""
import argparse
import json
import math
import subprocess
import sys
import urllib.parse
import urllib.request

# The demo data (volta gen --days 365, start 2024-01-01): hourly, 2024-01-01T03:00Z .. 2024-12-31T02:00Z.
YEAR = "time >= '2024-01-01T00:00:00Z' AND time < '2025-01-01T00:00:00Z'"
JUNE = "time >= '2024-06-01T03:00:00Z' AND time < '2024-07-01T03:00:00Z'"
PLANT = "UHE Morro Alegre 1"  # ons_id SPH0029, the same with any --days for seed 1 and >= 30 plants

QUERIES = [
    ("count_all", "SELECT count(value) FROM generation"),
    ("mean_per_day_year", f"SELECT mean(value) FROM generation WHERE {YEAR} GROUP BY time(1d)"),
    ("sum_subsystem_30d",
     f"SELECT sum(value) FROM generation WHERE {YEAR} GROUP BY time(30d), subsystem"),
    ("last_per_plant", "SELECT last(value) FROM generation GROUP BY plant"),
    ("max_one_plant", f"SELECT max(value) FROM generation WHERE plant = '{PLANT}'"),
    ("top10_june", f"SELECT top(value, plant, 10) FROM generation WHERE {JUNE}"),
    ("tz_daily_sum",
     f"SELECT sum(value) FROM generation WHERE {YEAR} GROUP BY time(1d) tz('America/Sao_Paulo')"),
    ("regex_tag_max", "SELECT max(value) FROM generation WHERE plant =~ /^EOL/ GROUP BY state"),
    ("raw_one_series", f"SELECT value FROM generation WHERE ons_id = 'SPH0029' AND {YEAR}"),
    ("p95_subsystem_june",
     f"SELECT percentile(value, 95) FROM generation WHERE {JUNE} GROUP BY subsystem"),
    ("show_tag_values", "SHOW TAG VALUES FROM generation WITH KEY = plant"),
    ("subq_peak_hour",
     f"SELECT max(total) FROM (SELECT sum(value) AS total FROM generation WHERE {YEAR} "
     "GROUP BY time(1h))"),
    ("subq_top10_energy_june",
     f"SELECT top(energy, plant, 10) FROM (SELECT sum(value) AS energy FROM generation "
     f"WHERE {JUNE} GROUP BY plant)"),
    ("count_two_tags",
     "SELECT count(value) FROM generation WHERE subsystem = 'NE' AND fuel = 'Eolica'"),
    ("load_hourly_se", f"SELECT mean(value) FROM load WHERE subsystem = 'SE' AND {YEAR} "
     "GROUP BY time(1h)"),
]

REL = 1e-9
ABS = 1e-12


def fetch(base, db, query):
    url = base + "/query?" + urllib.parse.urlencode({"db": db, "q": query})
    try:
        with urllib.request.urlopen(url, timeout=600) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def diff(a, b, path="$"):
    """First difference between two parsed JSON values, or None."""
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return None if a is b else f"{path}: {a!r} != {b!r}"
    if isinstance(a, num) and isinstance(b, num):
        if a == b:
            return None
        if math.isfinite(a) and math.isfinite(b) and \
                abs(a - b) <= max(ABS, REL * max(abs(a), abs(b))):
            return None
        return f"{path}: {a!r} != {b!r}"
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {a!r:.80} != {type(b).__name__} {b!r:.80}"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        return None
    return None if a == b else f"{path}: {a!r:.80} != {b!r:.80}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--influx", default="", help="omit: time volta alone, no check")
    ap.add_argument("--volta", default="")
    ap.add_argument("--db", default="bench")
    ap.add_argument("--qtime", required=False)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--budget", type=float, default=40)
    ap.add_argument("--only", default="")
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.list:
        for name, q in QUERIES:
            print(f"{name}\t{q}")
        return 0
    if not a.volta or (not a.check_only and not a.qtime):
        ap.error("--volta and --qtime are needed (--qtime not with --check-only)")
    only = set(filter(None, a.only.split(",")))
    rows, bad, ratios = [], [], []
    for name, q in QUERIES:
        if only and name not in only:
            continue
        if not a.influx:
            sv, bv = fetch(a.volta, a.db, q)
            si, bi = 200, bv
        else:
            si, bi = fetch(a.influx, a.db, q)
            sv, bv = fetch(a.volta, a.db, q)
        d = None
        if si != 200 or sv != 200:
            d = f"HTTP influxdb {si} volta {sv}: {bi[:200]!r} / {bv[:200]!r}"
        else:
            ji, jv = json.loads(bi), json.loads(bv)
            if any("error" in r for r in ji.get("results", [{}])):
                d = f"error in the answer: {bi[:200]!r}"
            else:
                d = diff(ji, jv)
        if d:
            bad.append((name, d))
            print(f"[disagree] {name}: {d}", file=sys.stderr, flush=True)
            continue
        print(f"[agree] {name} ({len(bi)} bytes)", file=sys.stderr, flush=True)
        if a.check_only:
            continue
        out = subprocess.run([a.qtime, "-w", str(a.warmup), "-n", str(a.reps), "-T", str(a.budget),
                              "-d", a.db, "-q", q, a.influx or a.volta, a.volta],
                             capture_output=True, text=True)
        if out.returncode != 0:
            bad.append((name, "qtime failed: " + out.stderr.strip()))
            continue
        kv = dict(x.split("=", 1) for x in out.stdout.split())
        ims, vms = float(kv["a_ms"]), float(kv["b_ms"])
        if not a.influx:  # A was volta too: report B only
            ims = float("nan")
        ratio = ims / vms if vms > 0 else float("inf")
        if a.influx:
            ratios.append(ratio)
        rows.append((name, ims, vms, ratio, int(kv["reps"]), float(kv["a_min"]), float(kv["b_min"]),
                     int(kv["a_bytes"])))
        print(f"[timed] {name}: influxdb {ims:.1f} ms, volta {vms:.1f} ms, {ratio:.2f}x "
              f"({kv['reps']} reps)", file=sys.stderr, flush=True)
    lines = []
    if rows:
        lines.append(f"{'query':<24} {'influxdb ms':>12} {'volta ms':>10} {'ratio':>8}   "
                     f"{'reps':>4} {'min idb/volta ms':>18} {'resp bytes':>10}")
        for name, ims, vms, r, n, imin, vmin, nb in rows:
            lines.append(f"{name:<24} {ims:12.2f} {vms:10.2f} {r:7.2f}x   {n:4d} "
                         f"{imin:8.2f}/{vmin:<9.2f} {nb:10d}")
        if ratios:
            gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
            lines.append(f"geometric mean of the ratios (influx/volta) over {len(ratios)} "
                         f"queries: {gm:.2f}x")
    for name, d in bad:
        lines.append(f"NOT TIMED, servers disagree: {name}: {d}")
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "a") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
