"""
End-to-end tests of read routing and observability (issue 6 items 3 and 4), real processes only:

    1. A native backup: a volta data directory seeded on its own (a point only it holds), then
       used as the [backend.bk] of a primary. With read_backend=backup, /query (GET, form POST,
       streamed and pretty) and Flux see the backup's data; a modifying statement still goes to
       the primary; /api/v1/backends and /api/v1/backends/query report and query each side;
       back to primary the point is gone again. /metrics carries the latency histogram,
       errors in the last minute, the flags and the query-latency classes; a baseline is
       recorded (API and `volta status --record-baseline`) and `volta status` prints it all.
    2. A real InfluxDB 1.6.7 backup: a point written into InfluxDB alone is seen through the
       primary's /query (status, JSON and CSV Content-Type preserved, InfluxDB's own parse
       errors passed through); Flux is refused clearly; with InfluxDB killed, /query answers 502
       naming the backend, errors-last-minute counts it, /api/v1/backends says unreachable; a
       natural-language question (JSON body) is never proxied; back to primary, 200 again.
    3. read_backend=backup without any backup configured: 503 saying so.

Needs influxd for 2 (skips otherwise).
"""
import json
import os
import re
import sqlite3
import subprocess
import time

import pytest
import requests

import influxref
from conftest import volta_bin

T0 = 1700000000  # 2023-11-14T22:13:20Z


# ---- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def influx():
    if influxref.influxd_path() is None:
        pytest.skip("influxd (InfluxDB 1.x) is not installed: set INFLUXD or install /usr/bin/influxd")
    ref = influxref.InfluxRef.start()
    yield ref
    ref.stop()


def write_config(tmp_path, text):
    path = os.path.join(str(tmp_path), "volta.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run_volta(*args, timeout=120):
    return subprocess.run([volta_bin()] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def create_db(url, db):
    r = requests.post(url + "/query", params={"q": 'CREATE DATABASE "%s"' % db}, timeout=60)
    assert r.status_code == 200 and "error" not in r.text, r.text


def write_lines(url, db, lines):
    r = requests.post(url + "/write", params={"db": db, "precision": "s"},
                      data="\n".join(lines).encode(), timeout=60)
    assert r.status_code == 204, "%s /write -> %d %s" % (url, r.status_code, r.text[:300])


def query(url, q, db="r", method="GET", **extra):
    params = {"q": q, "db": db, "epoch": "s"}
    params.update(extra)
    if method == "GET":
        return requests.get(url + "/query", params=params, timeout=60)
    return requests.post(url + "/query", data=params, timeout=60)


def values(resp):
    """[(measurement, [rows])] of a 200 /query answer."""
    assert resp.status_code == 200, "%d %s" % (resp.status_code, resp.text[:500])
    doc = resp.json()
    out = []
    for res in doc["results"]:
        assert "error" not in res, res
        for s in res.get("series", []):
            out.append((s["name"], s["values"]))
    return out


def set_flags(url, **flags):
    r = requests.post(url + "/api/v1/flags", json={"set": flags, "why": "test_router"}, timeout=30)
    assert r.status_code == 200, "POST /api/v1/flags -> %d %s" % (r.status_code, r.text[:300])
    return r.json()


def backends(url):
    r = requests.get(url + "/api/v1/backends", timeout=60)
    assert r.status_code == 200, "GET /api/v1/backends -> %d %s" % (r.status_code, r.text[:300])
    return r.json()


def wait_caught_up(url, name, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        h = requests.get(url + "/health", timeout=30).json()
        for b in h.get("backends", []):
            if b["name"] == name:
                last = b
                if b["state"] == "following" and b["lag_records"] == 0 and b["cursor"] >= 1:
                    return b
        time.sleep(0.1)
    raise AssertionError("backend %s did not catch up: %s" % (name, last))


def metrics_text(url):
    r = requests.get(url + "/metrics", timeout=30)
    assert r.status_code == 200
    return r.text


def metric_value(text, name, labels=None):
    """The value of the series name{labels...} (labels: a dict that must match exactly)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        if got == (labels or {}):
            return float(m.group(4))
    raise AssertionError("%s%s not in /metrics:\n%s" % (name, labels or "", text[:4000]))


# ---- 1. native backup ------------------------------------------------------------------------------


def test_native_backup_routing_metrics_and_status(volta_server, tmp_path, tmp_path_factory):
    bk_dir = str(tmp_path_factory.mktemp("native-backup"))
    # seed the backup directory on its own: a point the primary never sees
    seed = volta_server(data=bk_dir)
    create_db(seed.url, "r")
    write_lines(seed.url, "r", ["only_backup,host=b v=41 %d" % T0])
    seed.stop()

    cfg = write_config(tmp_path, '[server]\nread_backup = "bk"\n'
                                 '[backend.bk]\ntype = "native"\npath = "%s"\n' % bk_dir)
    srv = volta_server("--config", cfg)
    url = srv.url
    create_db(url, "r")
    write_lines(url, "r", ["both,host=a v=1 %d" % T0, "both,host=a v=2 %d" % (T0 + 60)])
    wait_caught_up(url, "bk")

    bs = backends(url)
    assert bs["read_backend"] == "primary" and bs["backup"] == "bk", bs
    (b,) = bs["backends"]
    assert b["name"] == "bk" and b["type"] == "native" and b["healthy"] is True, b
    assert b["lag_records"] == 0 and b["needs_resync"] is False, b
    assert "flux" in b["caps"] and "influxql" in b["caps"], b
    assert b["cursor"] == b["journal_last_seq"] == bs["primary"]["journal_last_seq"], bs

    # primary: the backup-only point is not there
    assert values(query(url, "SELECT v FROM only_backup")) == []
    assert values(query(url, "SELECT count(v) FROM both"))[0][1][0][1] == 2

    set_flags(url, read_backend="backup")
    assert backends(url)["read_backend"] == "backup"
    # GET (streamed), POST form (streamed), pretty (buffered): all from the backup
    for method, extra in (("GET", {}), ("POST", {}), ("GET", {"pretty": "true"})):
        got = values(query(url, "SELECT v FROM only_backup", method=method, **extra))
        assert got == [("only_backup", [[T0, 41]])], (method, extra, got)
    # the backup holds the replicated points too
    assert values(query(url, "SELECT count(v) FROM both"))[0][1][0][1] == 2
    # Flux on a native backup
    flux = 'from(bucket: "r") |> range(start: 2023-11-01T00:00:00Z) |> filter(fn: (r) => r._measurement == "only_backup")'
    r = requests.post(url + "/api/v2/query", json={"query": flux}, timeout=60)
    assert r.status_code == 200, r.text
    assert "only_backup" in r.text and "41" in r.text, r.text
    # a modifying statement goes to the primary, and replicates from there
    r = query(url, "CREATE DATABASE made_on_primary", db="", method="POST")
    assert r.status_code == 200, r.text
    r = requests.post(url + "/api/v1/backends/query",
                      json={"backend": "primary", "q": "SHOW DATABASES"}, timeout=60)
    assert r.status_code == 200 and "made_on_primary" in r.text, r.text

    # /api/v1/backends/query on each side
    r = requests.post(url + "/api/v1/backends/query",
                      json={"backend": "bk", "db": "r", "q": "SELECT count(v) FROM only_backup"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["series"][0]["values"][0][1] == 1
    r = requests.post(url + "/api/v1/backends/query",
                      json={"backend": "backup", "db": "r", "q": "SELECT count(v) FROM both"}, timeout=60)
    assert r.status_code == 200 and r.json()["results"][0]["series"][0]["values"][0][1] == 2, r.text
    r = requests.post(url + "/api/v1/backends/query",
                      json={"backend": "primary", "db": "r", "q": "SELECT count(v) FROM only_backup"}, timeout=60)
    assert r.status_code == 200 and "series" not in r.json()["results"][0], r.text
    r = requests.post(url + "/api/v1/backends/query", json={"backend": "nope", "q": "SHOW DATABASES"}, timeout=60)
    assert r.status_code == 404 and "unknown backend: nope" in r.json()["error"], r.text
    r = requests.post(url + "/api/v1/backends/query", json={"backend": "bk", "q": "DROP DATABASE r"}, timeout=60)
    assert r.status_code == 400 and "primary" in r.json()["error"], r.text
    r = requests.post(url + "/api/v1/backends/query", json={"backend": "bk"}, timeout=60)
    assert r.status_code == 400, r.text

    # /metrics while reads go to the backup
    text = metrics_text(url)
    assert metric_value(text, "volta_flag", {"name": "read_backend", "value": "backup"}) == 1
    assert metric_value(text, "volta_flag", {"name": "read_backend", "value": "primary"}) == 0
    assert metric_value(text, "volta_flag", {"name": "enable_maintenance_mode"}) == 0
    n_query = metric_value(text, "volta_http_request_duration_seconds_count", {"endpoint": "query"})
    assert n_query >= 8, n_query
    inf = metric_value(text, "volta_http_request_duration_seconds_bucket", {"endpoint": "query", "le": "+Inf"})
    ten = metric_value(text, "volta_http_request_duration_seconds_bucket", {"endpoint": "query", "le": "10"})
    one_ms = metric_value(text, "volta_http_request_duration_seconds_bucket", {"endpoint": "query", "le": "0.001"})
    assert inf == n_query and one_ms <= ten <= inf
    assert metric_value(text, "volta_http_errors_last_minute") == 0
    assert metric_value(text, "volta_rollback_state") == 0
    assert metric_value(text, "volta_ratelimit_refused_total") == 0
    assert metric_value(text, "volta_query_latency_samples", {"class": "influxql_select"}) >= 5
    assert metric_value(text, "volta_query_latency_samples", {"class": "flux"}) == 1
    assert metric_value(text, "volta_query_latency_seconds", {"class": "influxql_select", "quantile": "0.95"}) > 0

    # back to the primary
    set_flags(url, read_backend="primary")
    assert values(query(url, "SELECT v FROM only_backup")) == []

    # baselines: too few samples is refused, then recorded through the API and the CLI
    r = requests.post(url + "/api/v1/backends", json={"record_baseline": True, "min_samples": 100000}, timeout=30)
    assert r.status_code == 409 and "samples" in r.json()["error"], r.text
    for _ in range(25):
        values(query(url, "SELECT mean(v) FROM both"))
    r = requests.post(url + "/api/v1/backends", json={"record_baseline": True}, timeout=30)
    assert r.status_code == 200, r.text
    assert "influxql_select" in r.json()["classes"], r.text
    st = run_volta("status", "--host", url, "--record-baseline")
    assert st.returncode == 0, st.stdout + st.stderr
    assert "baseline recorded" in st.stdout and "influxql_select" in st.stdout, st.stdout
    text = metrics_text(url)
    base = metric_value(text, "volta_query_latency_baseline_seconds", {"class": "influxql_select"})
    assert base > 0
    assert metric_value(text, "volta_query_latency_ratio_percent", {"class": "influxql_select"}) > 0
    lat = {c["class"]: c for c in backends(url)["latency"]}
    assert lat["influxql_select"]["baseline"]["p95_ms"] > 0 and lat["influxql_select"]["ratio_pct"] > 0, lat
    assert lat["ask"]["baseline"] is None
    con = sqlite3.connect(os.path.join(srv.data, "meta.db"))
    rows = dict(con.execute("SELECT class, samples FROM query_baselines").fetchall())
    audit = con.execute("SELECT count(*) FROM audit WHERE action = 'baseline.record'").fetchone()[0]
    con.close()
    assert rows.get("influxql_select", 0) >= 20, rows
    assert audit == 2

    # volta status, for a person
    st = run_volta("status", "--host", url)
    assert st.returncode == 0, st.stdout + st.stderr
    out = st.stdout
    assert re.search(r"^\s*bk\s+native\s+following\b", out, re.M), out
    assert re.search(r"flags\s+reads from primary; maintenance off; rate limit off", out), out
    assert re.search(r"health\s+bk: reachable .*\[reads go here when read_backend=backup\]", out), out
    assert re.search(r"errors\s+0 5xx answers of data endpoints in the last minute", out), out
    assert re.search(r"latency\s+influxql_select\s+p50 [\d.]+ ms, p95 [\d.]+ ms \(\d+ samples\); "
                     r"baseline p95 [\d.]+ ms -> \d+% of it", out), out
    assert re.search(r"rollback\s+none recorded", out), out
    st = run_volta("status", "--help")
    assert st.returncode == 0 and "--record-baseline" in st.stdout


# ---- 2. InfluxDB backup ----------------------------------------------------------------------------


def test_influx_backup_proxy_and_down(influx, volta_server, tmp_path):
    cfg = write_config(tmp_path, '[backend.idb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 200\n'
                                 'timeout_ms = 5000\n' % influx.url)
    srv = volta_server("--config", cfg)
    url = srv.url
    create_db(url, "r")
    write_lines(url, "r", ["both,host=a v=1 %d" % T0])
    wait_caught_up(url, "idb")
    # a point InfluxDB alone holds
    r = requests.post(influx.url + "/write", params={"db": "r", "precision": "s"},
                      data=b"only_backup,host=x v=7 %d" % T0, timeout=30)
    assert r.status_code == 204, r.text

    bs = backends(url)
    assert bs["backup"] == "idb" and bs["backends"][0]["type"] == "influx", bs
    assert bs["backends"][0]["healthy"] is True and bs["backends"][0]["caps"] == ["influxql"], bs
    assert "1.6.7" in bs["backends"][0]["detail"], bs

    assert values(query(url, "SELECT v FROM only_backup")) == []
    set_flags(url, read_backend="backup")
    for method in ("GET", "POST"):
        got = values(query(url, "SELECT v FROM only_backup", method=method))
        assert got == [("only_backup", [[T0, 7]])], (method, got)
        assert values(query(url, "SELECT v FROM both", method=method)) == [("both", [[T0, 1]])]
    # the client's credentials are not forwarded; the answer is InfluxDB's
    r = requests.get(url + "/query", params={"q": "SELECT v FROM only_backup", "db": "r", "u": "x", "p": "y"},
                     timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json"), r.headers
    # CSV: InfluxDB's Content-Type is kept
    r = requests.get(url + "/query", params={"q": "SELECT v FROM only_backup", "db": "r"},
                     headers={"Accept": "application/csv"}, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv", r.headers  # InfluxDB 1.6.7's
    assert "only_backup" in r.text and ",7" in r.text, r.text
    # InfluxDB's own error, status and wording
    r = query(url, "SELECT v FROM only_backup WHERE v =~ /(/")
    assert r.status_code == 400 and "error parsing regexp" in r.json()["error"], r.text
    r = query(url, "SELECT v FROM only_backup WHERE time > 'bad'")
    assert r.status_code == 200 and "not compatible" in r.json()["results"][0]["error"], r.text
    # Flux: refused, saying why
    r = requests.post(url + "/api/v2/query", json={"query": 'from(bucket: "r") |> range(start: -1h)'}, timeout=30)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "forbidden" and "speaks no Flux" in r.json()["message"], r.text
    assert "idb" in r.json()["message"]

    # the backup's own answer through the admin API
    r = requests.post(url + "/api/v1/backends/query",
                      json={"backend": "idb", "db": "r", "q": "SELECT count(v) FROM only_backup"}, timeout=60)
    assert r.status_code == 200 and r.json()["results"][0]["series"][0]["values"][0][1] == 1, r.text
    r = requests.post(url + "/api/v1/backends/query",
                      json={"backend": "backup", "db": "r", "q": "SELECT v FROM m WHERE v =~ /(/"}, timeout=60)
    assert r.status_code == 400 and "error parsing regexp" in r.text, r.text

    # the backup goes down
    influx.proc.kill()
    influx.proc.wait()
    r = query(url, "SELECT v FROM only_backup")
    assert r.status_code == 502, r.text
    assert r.json()["error"].startswith("backup backend idb unreachable: "), r.text
    r2 = query(url, "SELECT v FROM both", method="POST")
    assert r2.status_code == 502
    # a question (JSON body) is never proxied
    r = requests.post(url + "/query", json={"question": "Qual é a geração de energia atual?"}, timeout=60)
    assert r.status_code != 502, r.text
    # a modifying statement still goes to the primary
    r = query(url, "CREATE DATABASE still_primary", db="", method="POST")
    assert r.status_code == 200, r.text
    text = metrics_text(url)
    assert metric_value(text, "volta_http_errors_last_minute") >= 2
    assert metric_value(text, "volta_http_requests_total", {"endpoint": "query", "status": "502"}) >= 2
    bs = backends(url)
    assert bs["backends"][0]["healthy"] is False and "unreachable" in bs["backends"][0]["detail"], bs
    r = requests.post(url + "/api/v1/backends/query",
                      json={"backend": "idb", "db": "r", "q": "SHOW DATABASES"}, timeout=60)
    assert r.status_code == 502 and "idb unreachable" in r.json()["error"], r.text
    st = run_volta("status", "--host", url)
    assert "health    idb: UNREACHABLE" in st.stdout, st.stdout
    assert re.search(r"errors\s+[1-9]\d* 5xx answers", st.stdout), st.stdout
    assert "reads from backup" in st.stdout and "[serves reads]" in st.stdout, st.stdout

    # back to the primary: served again
    set_flags(url, read_backend="primary")
    assert values(query(url, "SELECT v FROM both")) == [("both", [[T0, 1]])]
    assert values(query(url, "SELECT v FROM only_backup")) == []


# ---- 3. no backup ----------------------------------------------------------------------------------


def test_backup_reads_without_backup(volta_server):
    srv = volta_server()
    create_db(srv.url, "r")
    write_lines(srv.url, "r", ["m v=1 %d" % T0])
    set_flags(srv.url, read_backend="backup")
    r = query(srv.url, "SELECT v FROM m")
    assert r.status_code == 503 and "no backup backend is configured" in r.json()["error"], r.text
    r = requests.post(srv.url + "/api/v2/query", json={"query": 'from(bucket: "r") |> range(start: 0)'}, timeout=30)
    assert r.status_code == 503 and "no backup backend" in r.json()["message"], r.text
    bs = backends(srv.url)
    assert bs["backup"] is None and bs["backends"] == [] and bs["read_backend"] == "backup", bs
    set_flags(srv.url, read_backend="primary")
    assert values(query(srv.url, "SELECT v FROM m")) == [("m", [[T0, 1]])]
