#!/usr/bin/env python3
"""Differential InfluxQL testing: volta against a real InfluxDB 1.6.7.

The same deterministic data set is written to both servers, the same queries (influxql_cases.CASES)
are sent to both, and the responses are compared as parsed JSON (or CSV, or a chunked stream).

Data set (dataset(), ~22k points, deterministic: fixed seeds, fixed times): database `diff` with
  generation  tags plant (13 plants, some with spaces/accents), plant_type, state, subsystem; value
              MW (3 decimals; solar 0 at night; "Angra 1" has a 2-day outage gap), hourly
              2018-10-20..2018-11-20 (Brazilian DST start 2018-11-04) and 2019-02-14..20 (DST end)
  load        tag subsystem; value            interchange  tags origin, destination; value (+/-)
  sensor      tags host, region; temp float, count int, ok bool, status string, reading float;
              sparse fields, irregular ns times, zeros/negatives, a later batch overwriting fields
  cpu.load, "my measurement" (names that need quoting; a tag key with a space)
  recent      points at now-2h, now-90m, now-1h, now-30m (for now() cases)
and database `other` (weather, generation). Cases may add throwaway data/databases.

Library:
    dataset(now_ns) -> list of (db, precision, body)   write requests, in order
    load(url, batches)                                  CREATE DATABASE + POST /write
    run_case(url, case) -> Response                     setup writes/queries, then the query
    compare_case(case, ref_resp, got_resp) -> None | str   None when equal, else a compact diff
Script:
    python3 tests/e2e/influxql_diff.py --volta URL [--influx URL | --start-influx] [--only ID,...]
                                       [--load] [--verbose]
    --start-influx starts a private InfluxDB (tests/e2e/influxref.py) and always loads it; --load
    (re)creates the data in both servers (the `recent` measurement is relative to the load time, so
    now()-cases only match when both servers were loaded by the same run). Prints one block per
    mismatch (id, query, first differing path with both values) and "N/M match".

Case format (influxql_cases.py): {"id", "q", "db" (default "diff"), "epoch", "params" (dict, sent as
JSON bind parameters), "differs": reason (known deviation: xfail in pytest), "compare": "json"
(default) | "shape" (status + per-series name/tags/columns/row count: for sample()) | "csv" (Accept:
application/csv) | "chunked" (chunked=true, "chunk_size"), "write": line protocol written to "db" on
both servers first (precision "write_precision", default ns), "setup": [queries] run first (results
ignored), "normalize": [[regex, replacement], ...] applied to both raw bodies (shard ids in
error strings), "sort_series": True (series order not significant: InfluxDB's own order is unstable)}.

Comparison rules: HTTP status equal; JSON compared recursively; numbers equal when both are ints and
equal, or within 1e-9 relative / 1e-12 absolute; everything else exact (key sets, series order,
column order, tags, error strings, statement_id, partial).
"""
import argparse
import csv
import io
import json
import math
import os
import random
import re
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

DATABASES = ("diff", "other")
REL_TOL = 1e-9
ABS_TOL = 1e-12
TIMEOUT = 60

# --------------------------------------------------------------------------------------------
# Data set
# --------------------------------------------------------------------------------------------

# name, subsystem, state, type, capacity MW
PLANTS = [
    ("Tucuruí", "N", "PA", "hydro", 8370.0),
    ("Belo Monte", "N", "PA", "hydro", 11233.0),
    ("Xingó", "NE", "AL", "hydro", 3162.0),
    ("Sobradinho", "NE", "BA", "hydro", 1050.3),
    ("Ventos do Araripe", "NE", "PI", "wind", 360.0),
    ("Lagoa dos Ventos", "NE", "PI", "wind", 716.0),
    ("São Gonçalo", "NE", "PI", "solar", 608.0),
    ("Pirapora", "SE", "MG", "solar", 400.0),
    ("Angra 1", "SE", "RJ", "nuclear", 640.0),
    ("Angra 2", "SE", "RJ", "nuclear", 1350.0),
    ("Itaipu", "S", "PR", "hydro", 7000.0),
    ("Jorge Lacerda", "S", "SC", "thermal", 857.0),
    ("Osório", "S", "RS", "wind", 316.0),
]
SUBSYSTEMS = ("N", "NE", "SE", "S")
INTERCHANGES = (("N", "NE"), ("N", "SE"), ("NE", "SE"), ("SE", "S"))

HOUR = 3600
# 2018-10-20T00:00:00Z .. 2018-11-20T00:00:00Z (Brazilian DST began 2018-11-04 00:00 local)
SPAN1 = (1539993600, 1542672000)
# 2019-02-14T00:00:00Z .. 2019-02-20T00:00:00Z (DST ended 2019-02-17 00:00 local -> 23:00 again)
SPAN2 = (1550102400, 1550620800)
DST_START = 1541300400  # 2018-11-04T03:00:00Z
DST_END = 1550368800    # 2019-02-17T02:00:00Z


def _esc_tag(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _esc_meas(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def _fmt(v):
    return "%.3f" % v


def _local_hour(t):
    off = -2 if (DST_START <= t < DST_END) else -3
    return ((t // HOUR) + off) % 24


def _hours():
    for a, b in (SPAN1, SPAN2):
        t = a
        while t < b:
            yield t
            t += HOUR


def _ons_lines():
    rng = random.Random(20181104)
    gen, load, inter = [], [], []
    for t in _hours():
        lh = _local_hour(t)
        day = t // 86400
        sub_total = {s: 0.0 for s in SUBSYSTEMS}
        for i, (name, sub, state, ptype, cap) in enumerate(PLANTS):
            if ptype == "solar":
                v = 0.0 if (lh < 6 or lh >= 18) else cap * math.sin(math.pi * (lh - 6) / 12.0) * (0.8 + 0.2 * rng.random())
            elif ptype == "wind":
                v = cap * (0.45 + 0.3 * math.sin(2 * math.pi * (lh + 3 * i) / 24.0) + 0.15 * rng.random())
            elif ptype == "nuclear":
                if name == "Angra 1" and 1541030400 <= t < 1541203200:
                    continue  # outage 2018-11-01 .. 2018-11-03: no points (gaps for fill())
                v = cap * (0.93 + 0.02 * rng.random())
            elif ptype == "thermal":
                v = cap * (0.2 + 0.5 * ((day + i) % 3) / 2.0 + 0.05 * rng.random())
            else:
                v = cap * (0.55 + 0.25 * math.sin(2 * math.pi * (lh - 14) / 24.0) + 0.1 * rng.random())
            v = round(v, 3)
            sub_total[sub] += v
            gen.append("generation,plant=%s,plant_type=%s,state=%s,subsystem=%s value=%s %d" % (
                _esc_tag(name), ptype, state, sub, _fmt(v), t))
        for s in SUBSYSTEMS:
            base = {"N": 6000.0, "NE": 11000.0, "SE": 38000.0, "S": 11500.0}[s]
            v = base * (0.8 + 0.2 * math.sin(2 * math.pi * (lh - 9) / 24.0)) + 100 * rng.random()
            load.append("load,subsystem=%s value=%s %d" % (s, _fmt(v), t))
        for o, d in INTERCHANGES:
            v = 2500.0 * math.sin(2 * math.pi * (lh + len(o) * 5) / 24.0) + 300 * (rng.random() - 0.5)
            inter.append("interchange,destination=%s,origin=%s value=%s %d" % (d, o, _fmt(v), t))
    return gen, load, inter


def _sensor_lines():
    """Irregular times (ns), mixed field types, sparse fields, negatives and zeros."""
    rng = random.Random(42)
    lines = []
    hosts = (("h1", "east"), ("h2", "east"), ("h3", "west"))
    t = 1541030400 * 10 ** 9  # 2018-11-01T00:00:00Z
    seen = []
    for i in range(3000):
        t += rng.randint(1, 600) * 10 ** 9 + rng.randint(0, 999) * 10 ** 6
        host, region = hosts[i % 3] if i % 7 else hosts[rng.randint(0, 2)]
        fields = []
        if i % 5 != 0:
            fields.append("temp=%s" % _fmt(rng.uniform(-15.0, 40.0) if i % 11 else 0.0))
        if i % 3 != 1:
            fields.append("count=%di" % (rng.randint(-50, 500) if i % 13 else 0))
        if i % 4 != 2:
            fields.append("ok=%s" % ("true" if rng.random() < 0.7 else "false"))
        if i % 6 == 0:
            fields.append('status="%s"' % rng.choice(("idle", "busy", "fault", 'a \\"quoted\\" one', "")))
        if i % 2 == 0:
            fields.append("reading=%s" % _fmt(rng.uniform(-1.0, 1.0) * 100))
        if not fields:
            fields.append("temp=%s" % _fmt(i / 10.0))
        lines.append("sensor,host=%s,region=%s %s %d" % (host, region, ",".join(fields), t))
        if i % 97 == 0:
            seen.append((host, region, t))
    dupes = []  # written in a later request: overwrite some fields of existing points
    for host, region, ts in seen:
        dupes.append("sensor,host=%s,region=%s temp=%s,count=%di %d" % (host, region, _fmt(rng.uniform(-5, 5)), rng.randint(1000, 2000), ts))
    return lines, dupes


def _misc_lines():
    out = []
    base = 1541030400
    for i in range(240):
        t = base + i * 900
        out.append("cpu.load,host=%s value=%s,user=%s %d" % ("ab"[i % 2], _fmt((i % 17) / 4.0), _fmt((i % 5) * 1.5), t))
        if i % 3 == 0:
            out.append("my\\ measurement,host=%s,tag\\ key=with\\ space value=%di,x=%s %d" % (
                "ab"[i % 2], i - 100, _fmt(i * 0.25), t))
    return out


def _other_lines():
    out = []
    for i in range(48):
        t = SPAN1[0] + i * HOUR
        out.append("weather,city=Recife temperature=%s,humidity=%di %d" % (_fmt(26 + 3 * math.sin(i / 4.0)), 60 + i % 20, t))
        out.append("generation,plant=Tucuruí,subsystem=N value=%s %d" % (_fmt(5000 + 10 * i), t))
    return out


def recent_lines(now_ns):
    """`recent` at now-2h, now-90m, now-1h, now-30m (seconds precision, aligned to the second)."""
    now_s = now_ns // 10 ** 9
    out = []
    for i, mins in enumerate((120, 90, 60, 30)):
        out.append("recent,host=a value=%d.5,n=%di %d" % (i + 1, i + 1, now_s - mins * 60))
    return out


def dataset(now_ns=None):
    """The write requests, in order: list of (db, precision, body)."""
    if now_ns is None:
        now_ns = time.time_ns()
    gen, load, inter = _ons_lines()
    sensor, dupes = _sensor_lines()
    reqs = []

    def chunks(db, prec, lines, n=5000):
        for i in range(0, len(lines), n):
            reqs.append((db, prec, "\n".join(lines[i:i + n]) + "\n"))

    chunks("diff", "s", gen)
    chunks("diff", "s", load)
    chunks("diff", "s", inter)
    chunks("diff", "ns", sensor)
    chunks("diff", "ns", dupes)
    chunks("diff", "s", _misc_lines())
    chunks("diff", "s", recent_lines(now_ns))
    chunks("other", "s", _other_lines())
    return reqs


def post_query(url, q, db=None, epoch=None, params=None, extra=None, headers=None, stream=False):
    data = {"q": q}
    if db:
        data["db"] = db
    if epoch:
        data["epoch"] = epoch
    if params is not None:
        data["params"] = json.dumps(params)
    if extra:
        data.update(extra)
    return requests.post(url + "/query", data=data, headers=headers, timeout=TIMEOUT, stream=stream)


def write(url, db, precision, body):
    r = requests.post(url + "/write", params={"db": db, "precision": precision}, data=body.encode("utf-8"), timeout=TIMEOUT)
    if r.status_code != 204:
        raise RuntimeError("write to %s db=%s failed: %d %s" % (url, db, r.status_code, r.text[:500]))


def load(url, batches):
    for db in DATABASES:
        post_query(url, 'DROP DATABASE "%s"' % db)
        r = post_query(url, 'CREATE DATABASE "%s"' % db)
        if r.status_code != 200:
            raise RuntimeError("CREATE DATABASE %s on %s: %d %s" % (db, url, r.status_code, r.text[:300]))
    for db, prec, body in batches:
        write(url, db, prec, body)


def point_count(batches):
    return sum(body.count("\n") for _db, _p, body in batches)


# --------------------------------------------------------------------------------------------
# Running and comparing
# --------------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, kind, body, text):
        self.status = status
        self.kind = kind      # "json" | "csv" | "chunked" | "text"
        self.body = body      # parsed
        self.text = text      # raw (for --verbose)


def _parse_chunks(text):
    dec = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i] in " \r\n\t":
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def run_case(url, case):
    db = case.get("db", "diff")
    if case.get("write"):
        r = requests.post(url + "/write", params={"db": db, "precision": case.get("write_precision", "ns")},
                          data=case["write"].encode("utf-8"), timeout=TIMEOUT)
        if r.status_code != 204:
            return Response(r.status_code, "text", {"setup-write-error": r.text}, r.text)
    for sq in case.get("setup", ()):
        post_query(url, sq, db=db)
    mode = case.get("compare", "json")
    headers = {"Accept": "application/csv"} if mode == "csv" else None
    extra = None
    if mode == "chunked":
        extra = {"chunked": "true"}
        if case.get("chunk_size"):
            extra["chunk_size"] = str(case["chunk_size"])
    r = post_query(url, case["q"], db=db, epoch=case.get("epoch"), params=case.get("params"), extra=extra, headers=headers)
    text = r.content.decode("utf-8", errors="replace")
    for pat, repl in case.get("normalize", ()):
        text = re.sub(pat, repl, text)
    try:
        if mode == "csv" and r.status_code == 200:
            return Response(r.status_code, "csv", list(csv.reader(io.StringIO(text))), text)
        if mode == "chunked":
            return Response(r.status_code, "chunked", _parse_chunks(text), text)
        return Response(r.status_code, "json", json.loads(text), text)
    except ValueError:
        return Response(r.status_code, "text", text, text)


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _csv_cell(s):
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def _num_equal(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    if abs(a) < 1e-6 and abs(b) < 1e-6 and abs(a - b) <= ABS_TOL:
        return True
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def first_diff(ref, got, path="$"):
    """Path and values of the first difference, or None."""
    if _num(ref) and _num(got):
        return None if _num_equal(ref, got) else (path, ref, got)
    if type(ref) is not type(got):
        return (path, ref, got)
    if isinstance(ref, dict):
        missing = [k for k in ref if k not in got]
        extra = [k for k in got if k not in ref]
        if missing or extra:  # show both sides' differing keys (e.g. series vs error)
            return ("%s{keys}" % path, {k: ref[k] for k in missing}, {k: got[k] for k in extra})
        for k in ref:
            d = first_diff(ref[k], got[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(ref, list):
        for i, (a, b) in enumerate(zip(ref, got)):
            d = first_diff(a, b, "%s[%d]" % (path, i))
            if d:
                return d
        if len(ref) != len(got):
            return ("%s.length" % path, len(ref), len(got))
        return None
    return None if ref == got else (path, ref, got)


def _shape(body):
    if not isinstance(body, dict):
        return body
    out = []
    for res in body.get("results", []):
        series = [{"name": s.get("name"), "tags": s.get("tags"), "columns": s.get("columns"),
                   "rows": len(s.get("values", []))} for s in res.get("series", [])]
        out.append({"statement_id": res.get("statement_id"), "error": res.get("error"), "series": series})
    return {"results": out, "error": body.get("error")}


def _sorted_series(body):
    """Series of every result sorted by (name, tags): for queries whose series order InfluxDB
    itself does not keep stable (integral() with GROUP BY tags)."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return body
    out = dict(body)
    out["results"] = []
    for res in body["results"]:
        res = dict(res)
        if isinstance(res.get("series"), list):
            res["series"] = sorted(res["series"], key=lambda s: json.dumps([s.get("name"), s.get("tags")], sort_keys=True))
        out["results"].append(res)
    return out


def _short(v, n=160):
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + "..."


def compare_case(case, ref, got):
    """None when the responses match, else a one-paragraph explanation."""
    if ref.status != got.status:
        return "status: influx=%d volta=%d\n  influx body: %s\n  volta body:  %s" % (
            ref.status, got.status, _short(ref.text, 300), _short(got.text, 300))
    if ref.kind != got.kind:
        return "body kind: influx=%s volta=%s\n  influx body: %s\n  volta body:  %s" % (
            ref.kind, got.kind, _short(ref.text, 300), _short(got.text, 300))
    a, b = ref.body, got.body
    if ref.kind == "csv":
        a = [[_csv_cell(c) for c in row] for row in a]
        b = [[_csv_cell(c) for c in row] for row in b]
    elif case.get("compare") == "shape":
        a, b = _shape(a), _shape(b)
    if case.get("sort_series"):
        a, b = _sorted_series(a), _sorted_series(b)
    d = first_diff(a, b)
    if d is None:
        return None
    return "%s: influx=%s volta=%s" % (d[0], _short(d[1]), _short(d[2]))


def load_cases():
    from influxql_cases import CASES
    ids = set()
    for c in CASES:
        assert c["id"] not in ids, "duplicate case id %s" % c["id"]
        ids.add(c["id"])
    return CASES


# --------------------------------------------------------------------------------------------
# Script
# --------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--volta", required=True, help="volta base URL, e.g. http://127.0.0.1:8086")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--influx", help="reference InfluxDB base URL")
    g.add_argument("--start-influx", action="store_true", help="start a private influxd (always loaded)")
    ap.add_argument("--only", help="comma-separated case ids (or id prefixes ending in *)")
    ap.add_argument("--load", action="store_true", help="(re)load the data set into both servers")
    ap.add_argument("--verbose", "-v", action="store_true", help="print both full bodies on mismatch")
    args = ap.parse_args(argv)

    ref_srv = None
    influx_url = args.influx
    if args.start_influx:
        from influxref import InfluxRef
        ref_srv = InfluxRef.start()
        influx_url = ref_srv.url
    try:
        batches = dataset()
        t0 = time.monotonic()
        if args.load or args.start_influx:
            load(influx_url, batches)
        if args.load:
            load(args.volta, batches)
        if args.load or args.start_influx:
            print("loaded %d points in %.1fs" % (point_count(batches), time.monotonic() - t0), file=sys.stderr)
        cases = load_cases()
        if args.only:
            want = [w.strip() for w in args.only.split(",") if w.strip()]

            def sel(cid):
                return any(cid == w or (w.endswith("*") and cid.startswith(w[:-1])) for w in want)
            cases = [c for c in cases if sel(c["id"])]
        n_ok = 0
        n_known = 0
        for c in cases:
            ref = run_case(influx_url, c)
            got = run_case(args.volta, c)
            d = compare_case(c, ref, got)
            if d is None:
                n_ok += 1
                continue
            if c.get("differs"):
                n_known += 1
            print("MISMATCH %s%s\n  q: %s\n  %s" % (c["id"], " (known: %s)" % c["differs"] if c.get("differs") else "",
                                                   c["q"], d))
            if args.verbose:
                print("  influx: %s\n  volta:  %s" % (ref.text[:4000], got.text[:4000]))
        print("%d/%d match%s" % (n_ok, len(cases), (" (%d known differences)" % n_known) if n_known else ""))
        return 0 if n_ok + n_known == len(cases) else 1
    finally:
        if ref_srv:
            ref_srv.stop()


if __name__ == "__main__":
    sys.exit(main())
