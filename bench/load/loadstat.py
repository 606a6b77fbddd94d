#!/usr/bin/env python3
"""loadstat — helpers of bench/load/run.sh (the load and replication benchmark).

    loadstat.py wait URL BACKEND TIMEOUT_S
        Reads /health once for the primary's seq S (writes have stopped), then polls every 50 ms
        until BACKEND's cursor >= S. Prints "final_seq=S caught=1|0 state=.. last_error=..".
    loadstat.py lag LAG.csv T_START FINAL_SEQ T_END POINTS
        Summarises a lagwatch.py file from T_START (unix s, the client's first request) until the
        first sample whose cursor >= FINAL_SEQ (the backup caught up). Prints key=value:
        t_caught (s after T_START; None if never), max/p99/p50 lag_seconds, max lag_records,
        samples, failures, max health_ms, and drain_pps: points the applier moved from the last
        sample before T_END (the client's last 204) until caught up, per second (POINTS points
        in FINAL_SEQ - 1 write records: the first record is CREATE DATABASE).
    loadstat.py count URL DB
        Total points in DB on an InfluxDB-compatible server (sum of count(*) per measurement).
    loadstat.py tocsvorder IN.lp OUT.lp
        volta export output (series by series) -> time order (stable), '#' lines dropped:
        the order in which `volta load` hands the CSV's rows to the node.
    loadstat.py report RESULTS.tsv
        The tables of the run (medians over repetitions, ratios) from the raw per-run rows.
"""
import csv
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def _get(url, path):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def _backend(url, name):
    _, body = _get(url, "/health")
    d = json.loads(body)
    for b in d.get("backends", []):
        if b.get("name") == name:
            return b
    raise SystemExit("loadstat: no backend %s in %s/health" % (name, url))


def cmd_wait(url, name, timeout):
    final = _backend(url, name)["primary_seq"]
    deadline = time.monotonic() + float(timeout)
    b = None
    while time.monotonic() < deadline:
        b = _backend(url, name)
        if b["cursor"] >= final:
            print("final_seq=%d caught=1 state=%s last_error=" % (final, b["state"]))
            return 0
        time.sleep(0.05)
    print("final_seq=%d caught=0 state=%s last_error=%s" %
          (final, b["state"] if b else "?", (b or {}).get("last_error", "").replace(" ", "_")))
    return 1


def _pct(xs, p):
    if not xs:
        return 0.0
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def cmd_lag(path, t_start, final_seq, t_end, points):
    t_start = float(t_start)
    t_end = float(t_end)
    final_seq = int(final_seq)
    per_rec = float(points) / max(1, final_seq - 1)
    rows = list(csv.DictReader(open(path)))
    win = []
    t_caught = None
    for r in rows:
        t = float(r["t"])
        if t < t_start:
            continue
        win.append(r)
        if r["state"] not in ("error", "nobackend") and int(r["cursor"]) >= final_seq:
            t_caught = t - t_start
            break
    lags = [float(r["lag_seconds"]) for r in win if r["state"] not in ("error", "nobackend")]
    recs = [int(r["lag_records"]) for r in win if r["state"] not in ("error", "nobackend")]
    fails = max([int(r["failures"]) for r in win] or [0])
    errs = sum(1 for r in win if r["state"] in ("error", "nobackend"))
    hms = max([float(r["health_ms"]) for r in win] or [0])
    drain = None
    before = [r for r in win if float(r["t"]) <= t_end and r["state"] not in ("error", "nobackend")]
    if t_caught is not None and before:
        b = before[-1]
        dt = t_start + t_caught - float(b["t"])
        if dt > 0 and final_seq > int(b["cursor"]):
            drain = (final_seq - int(b["cursor"])) * per_rec / dt
    print("drain_pps=%s " % ("%.0f" % drain if drain is not None else "None"), end="")
    print("t_caught=%s lag_max=%.3f lag_p99=%.3f lag_p50=%.3f lagrec_max=%d samples=%d "
          "failures=%d sample_errors=%d health_ms_max=%.1f" %
          ("%.3f" % t_caught if t_caught is not None else "None", max(lags or [0]), _pct(lags, 99),
           _pct(lags, 50), max(recs or [0]), len(win), fails, errs, hms))
    return 0 if t_caught is not None else 1


def cmd_count(url, db):
    q = urllib.parse.urlencode({"db": db, "q": "SELECT count(*) FROM /.*/"})
    status, body = _get(url, "/query?" + q)
    d = json.loads(body)
    total = 0
    for res in d.get("results", []):
        for s in res.get("series", []) or []:
            for row in s["values"]:
                total += sum(v for v in row[1:] if isinstance(v, (int, float)))
    print(total)
    return 0


def cmd_tocsvorder(src, dst):
    lines = []
    with open(src, "rb") as f:
        for ln in f:
            if ln.startswith(b"#") or ln.strip() == b"":
                continue
            lines.append(ln if ln.endswith(b"\n") else ln + b"\n")
    lines.sort(key=lambda ln: int(ln.rsplit(b" ", 1)[1]))  # stable: series order within an hour
    with open(dst, "wb") as f:
        f.writelines(lines)
    print(len(lines))
    return 0


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _div(a, b):
    return a / b if a is not None and b else None


def _fmt(x, spec="{:,.0f}"):
    return "-" if x is None else spec.format(x)


def cmd_report(path):
    # Rows: kind<TAB>rep<TAB>key=value ...
    runs = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 3:
            continue
        kv = {}
        for tok in parts[2].split():
            k, _, v = tok.partition("=")
            try:
                kv[k] = float(v)
            except ValueError:
                kv[k] = None if v == "None" else v
        runs.setdefault(parts[0], []).append(kv)

    def med(kind, key):
        return _med([r.get(key) for r in runs.get(kind, []) if isinstance(r.get(key), float)])

    out = []
    if any(k in runs for k in ("load_disk", "influx_lp", "volta_lp")):
        n = len(runs.get("load_disk", []))
        out.append("1. ONS CSV load (medians of %d runs; min-max in brackets)" % n)
        out.append("%-34s %12s %12s %12s %10s %10s %9s" %
                   ("", "points", "points/s", "rows/s", "wall s", "CPU s", "pts/CPU-s"))

        def rng(kind, key):
            xs = [r.get(key) for r in runs.get(kind, []) if isinstance(r.get(key), float)]
            return "[%s-%s]" % (_fmt(min(xs)), _fmt(max(xs))) if xs else ""

        rows = [
            ("load_disk", "volta load (fresh dir, fsync always)"),
            ("load_tmpfs", "volta load (dir on tmpfs: no fsync)"),
            ("influx_lp", "InfluxDB 1.6.7 /write (lpload)"),
            ("volta_lp", "volta serve /write (lpload)"),
        ]
        for kind, label in rows:
            if kind not in runs:
                continue
            pts, pps, rps = med(kind, "points"), med(kind, "pps"), med(kind, "rps")
            wall, cpu = med(kind, "wall"), med(kind, "cpu")
            out.append("%-34s %12s %12s %12s %10s %10s %9s" % (
                label, _fmt(pts), _fmt(pps), _fmt(rps), _fmt(wall, "{:.3f}"), _fmt(cpu, "{:.3f}"),
                _fmt(_div(pts, cpu))))
            out.append("%-34s %12s %12s" % ("", "", rng(kind, "pps")))
        lines_cpu = []
        for kind in ("influx_lp", "volta_lp"):
            if kind in runs:
                lines_cpu.append("%s: server CPU %s s during the writes + client CPU %s s" % (
                    "InfluxDB" if kind == "influx_lp" else "volta serve",
                    _fmt(med(kind, "cpu"), "{:.3f}"), _fmt(med(kind, "client_cpu"), "{:.3f}")))
        if "volta_lp" in runs:
            lc = med("volta_lp", "life_cpu")
            lines_cpu.append("volta serve, whole process life (start, writes, SIGTERM flush into "
                             "segments): CPU %s s = %s points per CPU-second; stop took %s s" % (
                                 _fmt(lc, "{:.3f}"),
                                 _fmt(med("volta_lp", "points") / lc if lc else None),
                                 _fmt(med("volta_lp", "stop_s"), "{:.3f}")))
        if "load_disk" in runs:
            lines_cpu.append("volta load: in-loader time %s s (%s rows/s; excludes process start and "
                             "the final memtable flush), peak RSS %s MiB" % (
                                 _fmt(med("load_disk", "inload"), "{:.3f}"),
                                 _fmt(med("load_disk", "inload_rps")),
                                 _fmt((med("load_disk", "rss_kib") or 0) / 1024, "{:.1f}")))
        out.extend("  " + x for x in lines_cpu)
        ld, il, vl = med("load_disk", "pps"), med("influx_lp", "pps"), med("volta_lp", "pps")
        ldc = _div(med("load_disk", "points"), med("load_disk", "cpu"))
        if ld and il:
            out.append("ratio volta load / InfluxDB ingest, points/s (wall): %s" %
                       _fmt(_div(ld, il), "{:.2f}x"))
            ilc = _div(med("influx_lp", "points"), med("influx_lp", "cpu"))
            out.append("ratio volta load / InfluxDB ingest, points per CPU-second (InfluxDB: server "
                       "only): %s" % _fmt(_div(ldc, ilc), "{:.2f}x"))
        if ld and vl:
            out.append("ratio volta load / volta HTTP ingest, points/s (wall): %s" %
                       _fmt(_div(ld, vl), "{:.2f}x"))
            vlc = _div(med("volta_lp", "points"), med("volta_lp", "cpu"))
            out.append("ratio volta load / volta HTTP ingest, points per CPU-second (server, during "
                       "the writes): %s" % _fmt(_div(ldc, vlc), "{:.2f}x"))
            lcr = _div(med("volta_lp", "points"), med("volta_lp", "life_cpu"))
            out.append("ratio volta load / volta HTTP ingest, points per CPU-second (whole "
                       "processes, both flush segments): %s" % _fmt(_div(ldc, lcr), "{:.2f}x"))
        if "load_disk" in runs:
            rpc = _div(med("load_disk", "rows"), med("load_disk", "cpu"))
            out.append("volta load rows per CPU-second (user+sys): %s — target >= 1,000,000: %s" % (
                _fmt(rpc), "met" if rpc and rpc >= 1e6 else "NOT met"))
        out.append("")
    if "idb_alone" in runs or "repl" in runs:
        out.append("2. Replication to a remote InfluxDB 1.6.7 (medians; per run below)")
        ia = med("idb_alone", "pps")
        if "idb_alone" in runs:
            out.append("InfluxDB alone, same client and data: %s points/s, %s s  (runs: %s)" % (
                _fmt(ia), _fmt(med("idb_alone", "secs"), "{:.2f}"),
                " ".join(_fmt(r.get("pps")) for r in runs["idb_alone"])))
        if "idb_alone_1c" in runs:
            out.append("InfluxDB alone, the applier's request shape (1 connection, ~8 MiB bodies): %s "
                       "points/s  (runs: %s)" % (
                           _fmt(med("idb_alone_1c", "pps")),
                           " ".join(_fmt(r.get("pps")) for r in runs["idb_alone_1c"])))
        for kind, label in (("repl", "unpaced (client as fast as volta answers)"),
                            ("paced", "paced")):
            if kind not in runs:
                continue
            out.append("%s:" % label)
            out.append("  %-4s %10s %9s %11s %11s %7s %11s %9s %9s %7s %9s %6s" % (
                "run", "offered/s", "client s", "caught-up s", "repl pts/s", "vs idb", "drain pts/s",
                "lag max s", "lag p99 s", "max rec", "CPU v/i s", "points"))
            for i, r in enumerate(runs[kind], 1):
                tc = r.get("t_caught")
                rate = r["points"] / tc if isinstance(tc, float) and tc > 0 else None
                out.append("  %-4d %10s %9s %11s %11s %7s %11s %9s %9s %7s %9s %6s" % (
                    i, _fmt(r.get("pace") or r.get("client_pps")), _fmt(r.get("secs"), "{:.2f}"),
                    _fmt(tc, "{:.2f}"), _fmt(rate),
                    _fmt(rate / ia if rate and ia else None, "{:.2f}x"), _fmt(r.get("drain_pps")),
                    _fmt(r.get("lag_max"), "{:.3f}"), _fmt(r.get("lag_p99"), "{:.3f}"),
                    _fmt(r.get("lagrec_max")),
                    "%s/%s" % (_fmt(r.get("volta_cpu"), "{:.1f}"), _fmt(r.get("idb_cpu"), "{:.1f}")),
                    "ok" if r.get("count_ok") == "yes" else "MISS"))
            tcs = [r["points"] / r["t_caught"] for r in runs[kind]
                   if isinstance(r.get("t_caught"), float) and r["t_caught"] > 0]
            mr = _med(tcs)
            out.append("  median: replication %s points/s = %s of InfluxDB's own ingest; drain %s "
                       "points/s; lag_seconds max %s s, p99 %s s" % (
                           _fmt(mr), _fmt(mr / ia if mr and ia else None, "{:.2f}x"),
                           _fmt(med(kind, "drain_pps")),
                           _fmt(med(kind, "lag_max"), "{:.3f}"), _fmt(med(kind, "lag_p99"), "{:.3f}")))
            if kind == "paced":
                worst = max([r.get("lag_max") or 0 for r in runs[kind]] or [0])
                out.append("  target (backup within 1 s at the rate InfluxDB sustains): %s "
                           "(worst run max lag %.3f s)" % ("met" if worst <= 1.0 else "NOT met", worst))
    print("\n".join(out))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    table = {"wait": (cmd_wait, 3), "lag": (cmd_lag, 3), "count": (cmd_count, 2),
             "tocsvorder": (cmd_tocsvorder, 2), "report": (cmd_report, 1)}
    table["lag"] = (cmd_lag, 5)
    if cmd not in table or len(args) != table[cmd][1]:
        print(__doc__, file=sys.stderr)
        return 2
    return table[cmd][0](*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
