"""End-to-end tests of volta's HTTP API (docs/API.md) with requests and python3-influxdb."""
import gzip
import json
import os
import re
import signal
import time

import pytest
import requests
from influxdb import InfluxDBClient


def metric(srv, name, labels=None):
    text = requests.get(srv.url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        if labels is not None:
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if got != labels:
                continue
        return float(m.group(3))
    return 0.0


def query(srv, q, method="GET", **params):
    params = dict(params, q=q)
    if method == "GET":
        return requests.get(srv.url + "/query", params=params, timeout=30)
    return requests.post(srv.url + "/query", data=params, timeout=30)


def create_db(srv, name):
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    r = query(srv, 'CREATE DATABASE "%s"' % quoted, method="POST")
    assert r.status_code == 200, r.text
    assert r.json() == {"results": [{"statement_id": 0}]}


@pytest.fixture
def srv(volta_server, tmp_path):
    cfg = tmp_path / "volta.toml"
    cfg.write_text('[server]\nmax_body_bytes = 1048576\n\n[journal]\nfsync = "never"\n')
    return volta_server("--config", str(cfg))


def test_ping_headers(srv):
    for method in ("GET", "HEAD"):
        r = requests.request(method, srv.url + "/ping", timeout=10)
        assert r.status_code == 204
        assert r.headers["X-Influxdb-Version"].startswith("1.8.")
        assert "volta" in r.headers["X-Influxdb-Version"]
        assert r.headers["X-Influxdb-Build"] == "OSS"
        assert re.match(r"^[0-9a-f-]{36}$", r.headers["Request-Id"])
        assert r.content == b""
    r1 = requests.get(srv.url + "/ping", timeout=10)
    r2 = requests.get(srv.url + "/ping", timeout=10)
    assert r1.headers["Request-Id"] != r2.headers["Request-Id"]
    r = requests.get(srv.url + "/ping?verbose=true", timeout=10)
    assert r.status_code == 200 and r.json()["version"].startswith("1.8.")
    assert requests.post(srv.url + "/ping", timeout=10).status_code == 405


def test_keep_alive(srv):
    with requests.Session() as s:
        r = s.get(srv.url + "/ping", timeout=10)
        assert r.status_code == 204
        assert r.headers.get("Connection", "").lower() != "close"
        r = s.get(srv.url + "/query", params={"q": "SHOW DATABASES"}, timeout=10)
        assert r.headers.get("Connection", "").lower() != "close"


def test_health(srv):
    r = requests.get(srv.url + "/health", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["name"] == "volta"
    assert body["status"] == "pass"
    assert body["message"] == "ready for queries and writes"
    assert body["checks"] == []
    assert body["version"].startswith("1.8.")


def test_not_found_and_methods(srv):
    r = requests.get(srv.url + "/nope", timeout=10)
    assert r.status_code == 404 and r.json() == {"error": "not found"}
    assert r.headers["X-Influxdb-Version"].startswith("1.8.")
    assert requests.get(srv.url + "/write?db=x", timeout=10).status_code == 405
    assert requests.delete(srv.url + "/query?q=x", timeout=10).status_code == 405
    assert requests.get(srv.url + "/api/v2/write", timeout=10).status_code == 405


def test_databases_with_influxdb_client(srv):
    c = InfluxDBClient(host=srv.host, port=srv.port, timeout=30)
    assert c.ping().startswith("1.8.")
    c.create_database("db_b")
    c.create_database("db_a")
    c.create_database("db_a")  # idempotent, as in InfluxDB
    assert c.get_list_database() == [{"name": "db_a"}, {"name": "db_b"}]
    c.drop_database("db_b")
    c.drop_database("db_b")  # idempotent
    assert c.get_list_database() == [{"name": "db_a"}]
    assert c.write_points(
        [{"measurement": "gen", "tags": {"plant": "itaipu"}, "fields": {"mw": 12000.5}, "time": 1700000000000000000}],
        database="db_a",
    )
    assert c.write_points([{"measurement": "gen", "fields": {"mw": 1.0}}], database="db_a", time_precision="s")
    gz = InfluxDBClient(host=srv.host, port=srv.port, timeout=30, gzip=True)
    assert gz.write_points([{"measurement": "gen", "fields": {"mw": 2.0}}], database="db_a")


def test_show_databases_exact_json(srv):
    r = query(srv, "SHOW DATABASES")
    assert r.text.strip() == '{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"]}]}]}'
    create_db(srv, "db1")
    create_db(srv, 'we"ird\\name é')
    r = query(srv, "SHOW DATABASES")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {
        "results": [
            {
                "statement_id": 0,
                "series": [{"name": "databases", "columns": ["name"], "values": [["db1"], ['we"ird\\name é']]}],
            }
        ]
    }
    r = query(srv, "CREATE DATABASE x1; CREATE DATABASE \"x;2\"; DROP DATABASE x1", method="POST")
    assert r.json() == {"results": [{"statement_id": 0}, {"statement_id": 1}, {"statement_id": 2}]}
    r = query(srv, "SHOW DATABASES", pretty="true")
    assert r.text.startswith('{\n    "results": [')
    assert ["x;2"] in r.json()["results"][0]["series"][0]["values"]


def test_query_errors(srv):
    r = requests.get(srv.url + "/query", timeout=10)
    assert r.status_code == 400 and r.json() == {"error": 'missing required parameter "q"'}
    r = query(srv, "CREATE DATABASE")
    assert r.status_code == 400
    assert r.json() == {"error": "error parsing query: found EOF, expected identifier at line 1, char 17"}
    r = query(srv, "SHOW DATABASES; SELECT * FROM cpu; SHOW DATABASES")
    assert r.status_code == 200
    res = r.json()["results"]
    assert res[0]["statement_id"] == 0 and "series" in res[0]
    # InfluxDB 1.6 replaces the failing statement's error with "not executed" and drops the last
    # statement's result; volta reports the real error (docs/COMPATIBILITY.md)
    assert res[1] == {"statement_id": 1, "error": "database name required"}
    assert res[2] == {"statement_id": 2, "error": "not executed"}


def test_write_and_errors(srv):
    create_db(srv, "mydb")
    before = metric(srv, "volta_points_written_total")
    r = requests.post(srv.url + "/write?db=mydb", data=b"cpu,host=a value=1 1700000000000000000\ncpu value=2\n", timeout=10)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert metric(srv, "volta_points_written_total") == before + 2

    r = requests.post(srv.url + "/write", data=b"cpu value=1\n", timeout=10)
    assert r.status_code == 400 and r.json() == {"error": "database is required"}
    r = requests.post(srv.url + "/write?db=mydb2", data=b"cpu value=1\n", timeout=10)
    assert r.status_code == 404 and r.json() == {"error": 'database not found: "mydb2"'}

    r = requests.post(srv.url + "/write?db=mydb", data=b"garbage\n", timeout=10)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err.startswith("unable to parse 'garbage': ")
    assert "(line 1, column" in err

    before = metric(srv, "volta_points_written_total")
    body = b"cpu value=3\nthis is bad\ncpu value=4\nalso=bad\n"
    r = requests.post(srv.url + "/write?db=mydb", data=body, timeout=10)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err.startswith("partial write: unable to parse 'this is bad': "), err
    assert "(line 2, column" in err
    assert err.endswith(" dropped=2"), err
    assert metric(srv, "volta_points_written_total") == before + 2


def test_type_conflict(srv):
    create_db(srv, "tc")
    assert requests.post(srv.url + "/write?db=tc", data=b"m f=1.5\n", timeout=10).status_code == 204
    r = requests.post(srv.url + "/write?db=tc", data=b'm f="text"\nm g=1\n', timeout=10)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err.startswith("partial write: field type conflict: "), err
    assert '"f"' in err and "string" in err and "float" in err
    assert err.endswith(" dropped=1"), err


def test_gzip(srv):
    create_db(srv, "gz")
    before = metric(srv, "volta_points_written_total")
    body = gzip.compress(b"".join(b"load,sub=SE v=%d %d\n" % (i, 1700000000000000000 + i) for i in range(1000)))
    r = requests.post(srv.url + "/write?db=gz", data=body, headers={"Content-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 204, r.text
    assert metric(srv, "volta_points_written_total") == before + 1000
    # two concatenated gzip members are one body
    body = gzip.compress(b"load v=1 1\n") + gzip.compress(b"load v=2 2\n")
    r = requests.post(srv.url + "/write?db=gz", data=body, headers={"Content-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 204, r.text
    assert metric(srv, "volta_points_written_total") == before + 1002
    r = requests.post(srv.url + "/write?db=gz", data=b"not gzip at all", headers={"Content-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 400 and "gzip" in r.json()["error"]
    r = requests.post(srv.url + "/write?db=gz", data=body[:-5], headers={"Content-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 400 and "gzip" in r.json()["error"]


def test_body_too_large(srv):
    create_db(srv, "big")
    line = b"m,tag=abcdefgh value=1.0\n"
    body = line * (2 * 1048576 // len(line))  # 2 MiB, the limit is 1 MiB
    r = requests.post(srv.url + "/write?db=big", data=body, timeout=30)
    assert r.status_code == 413
    assert r.json() == {"error": "request entity too large"}
    # chunked upload (no Content-Length)
    r = requests.post(srv.url + "/write?db=big", data=iter([body[:600000], body[600000:]]), timeout=30)
    assert r.status_code == 413
    # a small gzip body that inflates past the limit
    r = requests.post(srv.url + "/write?db=big", data=gzip.compress(body), headers={"Content-Encoding": "gzip"}, timeout=30)
    assert r.status_code == 413
    r = requests.post(srv.url + "/api/v2/write?bucket=big", data=body, timeout=30)
    assert r.status_code == 413 and r.json()["code"] == "request too large"
    # just under the limit is fine
    ok = line * (1048576 // len(line))
    assert requests.post(srv.url + "/write?db=big", data=ok, timeout=30).status_code == 204
    assert metric(srv, "volta_http_requests_total", {"endpoint": "write", "status": "413"}) == 3


def test_v2_write(srv):
    create_db(srv, "v2db")
    before = metric(srv, "volta_points_written_total")
    r = requests.post(srv.url + "/api/v2/write?bucket=v2db&org=ons&precision=ms", data=b"m v=1 1700000000000\n", timeout=10)
    assert r.status_code == 204, r.text
    r = requests.post(srv.url + "/api/v2/write?bucket=v2db/autogen&org=ons", data=b"m v=2\n", timeout=10)
    assert r.status_code == 204, r.text
    assert metric(srv, "volta_points_written_total") == before + 2
    r = requests.post(srv.url + "/api/v2/write?bucket=nope&org=ons", data=b"m v=2\n", timeout=10)
    assert r.status_code == 404
    assert r.json()["code"] == "not found"
    r = requests.post(srv.url + "/api/v2/write?org=ons", data=b"m v=2\n", timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    r = requests.post(srv.url + "/api/v2/write?bucket=v2db&precision=h", data=b"m v=2\n", timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    r = requests.post(srv.url + "/api/v2/write?bucket=v2db", data=b"bad\n", timeout=10)
    assert r.status_code == 400
    assert r.json()["code"] == "invalid" and r.json()["message"].startswith("unable to parse 'bad'")


def test_precision(srv):
    create_db(srv, "p")
    before = metric(srv, "volta_points_written_total")
    for prec, ts in (("s", 1700000000), ("ms", 1700000000000), ("u", 1700000000000000), ("n", 1700000000000000000), ("h", 472222), ("m", 28333333)):
        r = requests.post(srv.url + "/write?db=p&precision=" + prec, data=b"m v=1 %d\n" % ts, timeout=10)
        assert r.status_code == 204, (prec, r.text)
    r = requests.post(srv.url + "/write?db=p&precision=s", data=b"m v=1\n", timeout=10)  # default time
    assert r.status_code == 204
    assert metric(srv, "volta_points_written_total") == before + 7
    r = requests.post(srv.url + "/write?db=p&precision=fortnight", data=b"m v=1\n", timeout=10)
    assert r.status_code == 400 and "precision" in r.json()["error"]


def fill_memtable_heap(srv, db):
    """Writes 100 series x 5,000 points (500,000; their columns take several of the memtable
    heap's 2 MiB slabs, below the 24 MiB memtable: no flush) and returns the heap's slabs."""
    for t0 in range(0, 5000, 250):  # bodies of 25,000 lines, ~0.5 MB (the fixture: 1 MiB at most)
        lines = ["m,s=%d v=%d.5 %d" % (s, t, t + 1) for t in range(t0, t0 + 250) for s in range(100)]
        r = requests.post(srv.url + "/write?db=" + db, data="\n".join(lines).encode(), timeout=120)
        assert r.status_code == 204, r.text
    slabs = metric(srv, "volta_engine_memtable_heap_bytes") // (2 * 1024 * 1024)
    assert metric(srv, "volta_engine_flushes_total") == 0
    return slabs


def test_metrics(srv):
    create_db(srv, "met")
    requests.get(srv.url + "/ping", timeout=10)
    requests.post(srv.url + "/write?db=met", data=b"m v=1 1\n", timeout=10)
    requests.post(srv.url + "/write?db=nope", data=b"m v=1 1\n", timeout=10)
    r = requests.get(srv.url + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE volta_http_requests_total counter" in r.text
    assert metric(srv, "volta_http_requests_total", {"endpoint": "ping", "status": "204"}) >= 2
    assert metric(srv, "volta_http_requests_total", {"endpoint": "write", "status": "204"}) == 1
    assert metric(srv, "volta_http_requests_total", {"endpoint": "write", "status": "404"}) == 1
    assert metric(srv, "volta_write_errors_total") == 1
    assert metric(srv, "volta_journal_last_seq") >= 2  # create + write
    for name in ("volta_engine_series", "volta_engine_segments",
                 "volta_engine_provisional_segments", "volta_engine_memtable_bytes",
                 "volta_engine_memtable_heap_bytes", "volta_engine_memtable_heap_reserve_bytes",
                 "volta_engine_flushes_total", "volta_engine_compaction_flushes_total",
                 "volta_engine_compactions_total"):
        assert re.search(r"^%s \d+$" % name, r.text, re.M), name
    # the accepted point sits in the memtable, in a 2 MiB slab of the column heap; a heap of
    # one slab keeps no reserve of touched slabs (colheap.c note 7)
    assert metric(srv, "volta_engine_memtable_bytes") > 0
    assert metric(srv, "volta_engine_memtable_heap_bytes") == 2 * 1024 * 1024
    assert metric(srv, "volta_engine_memtable_heap_reserve_bytes") == 0
    # a bulk write: the reserve grows to half the slabs the heap had when it added its last
    # one, up to a quarter of the 24 MiB memtable (three slabs), touched ahead of need
    slabs = fill_memtable_heap(srv, "met")
    assert slabs >= 7, slabs
    want = 2 * 1024 * 1024 * min(3, (slabs - 1) // 2)
    deadline = time.monotonic() + 60
    while (metric(srv, "volta_engine_memtable_heap_reserve_bytes") != want
           and time.monotonic() < deadline):
        time.sleep(0.05)
    assert metric(srv, "volta_engine_memtable_heap_reserve_bytes") == want


def thread_nices(pid):
    """{thread name: [nice values]} of process pid, from /proc (Linux)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile (ENOENT, or ESRCH while reading)
            continue
        out.setdefault(name, []).append(int(fields[16]))  # field 19: nice
    return out


def test_background_threads_run_nicer(srv):
    """[engine] background_nice (default 10): the engine's flush/compaction thread and the
    memtable heap's reserve thread run 10 nice steps below the request threads."""
    create_db(srv, "nice")
    assert fill_memtable_heap(srv, "nice") >= 3  # the heap's thread starts at its third slab
    deadline = time.monotonic() + 60
    t = thread_nices(srv.proc.pid)
    while "volta-heap" not in t and time.monotonic() < deadline:
        time.sleep(0.05)
        t = thread_nices(srv.proc.pid)
    base = os.getpriority(os.PRIO_PROCESS, srv.proc.pid)  # the main thread's
    want = min(base + 10, 19)
    assert t.get("volta-engine") == [want], t
    assert t.get("volta-heap") == [want], t
    # the request threads, and the other named ones, keep the server's priority
    assert t.get("MHD-listen") == [base], t
    assert all(n == base for n in t.get("MHD-connection", [])), t
    assert t.get("volta-maint") == [base], t


def test_sigterm_and_restart(volta_server):
    srv = volta_server()
    c = InfluxDBClient(host=srv.host, port=srv.port, timeout=30)
    c.create_database("kept1")
    c.create_database("kept2")
    c.drop_database("kept2")
    assert c.write_points([{"measurement": "m", "fields": {"v": 1.0}, "time": 1700000000000000000}], database="kept1")
    assert srv.stop(signal.SIGTERM) == 0
    log = srv.log()
    lines = [json.loads(l) for l in log.splitlines() if l.startswith("{")]
    assert any(l["level"] == "info" and "listening" in l["msg"] for l in lines)
    assert any("shutting down" in l["msg"] for l in lines)

    again = volta_server(data=srv.data)
    c = InfluxDBClient(host=again.host, port=again.port, timeout=30)
    assert c.get_list_database() == [{"name": "kept1"}]
    r = requests.post(again.url + "/write?db=kept1", data=b"m v=2 1700000000000000001\n", timeout=10)
    assert r.status_code == 204
    assert again.stop(signal.SIGINT) == 0


def _handlers_held(pid):
    """How many of process pid's libmicrohttpd threads (MHD-*) sleep in nanosleep: requests the
    query-delay fault holds in their handler (Linux: /proc/<pid>/task/<tid>/wchan)."""
    held = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                wchan = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        held += name.startswith("MHD-") and "nanosleep" in wchan
    return held


def _held_requests_and_a_ping(srv, held, delay_ms, wait_held):
    """Sends `held` queries that the query-delay fault holds in their handler for delay_ms; once
    wait_held of them are held (seen in the server's threads, not guessed from a sleep), sends
    a /ping on another connection. Returns (seconds from sending the first query to the ping's
    answer, delay in seconds): a ping that had to wait for a held query to end is answered at
    least delay seconds after the first query was sent, whatever the machine's load."""
    import concurrent.futures

    r = requests.post(srv.url + "/api/v1/fault", json={"query_delay_ms": delay_ms}, timeout=10)
    assert r.status_code == 200, r.text
    with concurrent.futures.ThreadPoolExecutor(held) as ex:
        t0 = time.monotonic()
        futs = [ex.submit(query, srv, "SHOW DATABASES") for _ in range(held)]
        deadline = time.monotonic() + 60
        while _handlers_held(srv.proc.pid) < wait_held:
            assert time.monotonic() < deadline, "the held queries never reached their handlers"
            time.sleep(0.01)
        ping = requests.get(srv.url + "/ping", timeout=120)
        answered = time.monotonic() - t0
        assert ping.status_code == 204
        assert all(f.result().status_code == 200 for f in futs)
    requests.post(srv.url + "/api/v1/fault", json={"query_delay_ms": 0}, timeout=10)
    return answered, delay_ms / 1000


def test_busy_connections_do_not_hold_up_others(volta_server, tmp_path):
    """http.c note 6: by default every connection has its own thread, so requests held in their
    handler (as a write is through its fsync; here the drills' query-delay fault holds /query)
    do not delay a request on another connection. With `threads = 1` (one epoll thread for
    every connection) the same /ping waits for the held query to finish."""
    env = {"VOLTA_FAULT_INJECTION": "1"}
    srv = volta_server(env=env)
    answered, delay = _held_requests_and_a_ping(srv, held=6, delay_ms=8000, wait_held=6)
    assert answered < delay
    assert '"threads":0' in srv.log()

    cfg = tmp_path / "pool.toml"
    cfg.write_text("[server]\nthreads = 1\n")
    pool = volta_server("--config", str(cfg), env=env)
    answered, delay = _held_requests_and_a_ping(pool, held=2, delay_ms=1500, wait_held=1)
    assert answered >= delay
    assert '"threads":1' in pool.log()
    r = requests.post(pool.url + "/query", data={"q": "CREATE DATABASE p"}, timeout=30)
    assert r.status_code == 200
    r = requests.post(pool.url + "/write?db=p", data=b"m v=1 1700000000000000000\n", timeout=30)
    assert r.status_code == 204


def test_startup_failures(volta_server, tmp_path):
    import subprocess
    from conftest import volta_bin

    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nthreads = \"many\"\n")
    p = subprocess.run([volta_bin(), "serve", "--config", str(bad)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "%s:2:11" % bad in p.stderr
    p = subprocess.run([volta_bin(), "serve", "--bogus"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    p = subprocess.run([volta_bin(), "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "--listen" in p.stdout
    # the port is taken by a running server
    srv = volta_server()
    p = subprocess.run(
        [volta_bin(), "serve", "--data", str(tmp_path / "d2"), "--listen", "127.0.0.1:%d" % srv.port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode != 0
    assert "127.0.0.1:%d" % srv.port in p.stderr and "in use" in p.stderr


def test_storage_failure_is_not_acknowledged(volta_server):
    # every fsync from the 20th on fails (startup and CREATE DATABASE need fewer)
    srv = volta_server(env={"VOLTA_FAULT": "fsync:20s"})
    create_db(srv, "f")
    statuses = []
    for i in range(60):
        r = requests.post(srv.url + "/write?db=f", data=b"m v=%d %d\n" % (i, i + 1), timeout=10)
        statuses.append(r.status_code)
        if r.status_code != 204:
            break
    assert statuses[-1] == 500, statuses
    assert r.json()["error"]
    # sticky: later writes are refused, health says why
    r = requests.post(srv.url + "/write?db=f", data=b"m v=1 1\n", timeout=10)
    assert r.status_code == 500
    r = requests.get(srv.url + "/health", timeout=10)
    assert r.status_code == 503
    assert r.json()["status"] == "fail" and "restart" in r.json()["message"]
    assert metric(srv, "volta_node_failed") == 1
    assert '"level":"error"' in srv.log()
    srv.stop(expect_rc=None)  # the closing flush fails too: any exit code, but it must stop
