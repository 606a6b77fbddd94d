"""End-to-end tests of `volta rollback`, `volta rollforward` and `volta validate` (docs/OPERATIONS.md)
against real processes: a volta primary with a backup backend — native (in-process), another
`volta serve` as an "influx" backend (so it can be stopped), or a real InfluxDB 1.6.7.

1. rollback --yes --dwell 1: reads served by the backup (a point written only into the backup is
   visible through the primary's /query), maintenance off, rate limit restored, record done;
   validate passes; maintenance on -> validate fails listing the item; rollforward returns reads to
   the primary.
2. --dry-run changes nothing (flags version unchanged, no record).
3. kill -9 of `volta rollback` during the ramp's dwell, then --resume finishes from the recorded step.
4. An empty backup: step 5 aborts, the flags are reverted to the pre-rollback state, record failed.
5. The ramp stops when the backup is stopped and /query answers 502 (errors in the last minute > 5):
   exit 1, rate limit left at the last good level, record still running (resumable).
6. The same rollback with a real InfluxDB 1.6.7 as the backup.
7. A second rollback while one is running is refused naming it; non-tty stdin without --yes is
   refused with exit 2.
"""
import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, volta_bin, VoltaServer, _wait_ready

DB = "energia"


# ---- helpers ---------------------------------------------------------------------------------------


def http(method, url, body=None, timeout=30):
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


def flags(url):
    st, doc = http("GET", url + "/api/v1/flags")
    assert st == 200, doc
    return doc


def record(url):
    st, doc = http("GET", url + "/api/v1/rollback")
    assert st == 200, doc
    return doc["rollback"]


def write_lines(url, db, lines):
    http("POST", url + "/query?q=" + urllib.parse.quote("CREATE DATABASE %s" % db))
    req = urllib.request.Request(url + "/write?db=%s&precision=s" % db, data="\n".join(lines).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 204


def query(url, q, db=DB):
    st, doc = http("GET", url + "/query?db=%s&q=%s" % (db, urllib.parse.quote(q)))
    return st, doc


def values(doc):
    out = []
    for res in (doc or {}).get("results", []):
        for s in res.get("series", []) or []:
            out.extend(s.get("values", []))
    return out


def run_volta(*args, timeout=300, stdin=subprocess.DEVNULL):
    return subprocess.run([volta_bin()] + [str(a) for a in args], stdin=stdin, capture_output=True,
                          text=True, timeout=timeout)


def wait_for(what, pred, timeout=60, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def wait_caught_up(url):
    def pred():
        st, doc = http("GET", url + "/api/v1/backends")
        return st == 200 and all(b.get("lag_records") == 0 for b in doc.get("backends", []))
    wait_for("backends to catch up", pred)


def now_lines(n, meas="geracao", tag="regiao=SE"):
    t = int(time.time()) - n
    return ["%s,%s valor=%d %d" % (meas, tag, i + 1, t + i) for i in range(n)]


def config(tmp_path, text):
    path = os.path.join(str(tmp_path), "volta.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def seed_native_backup(tmp_path_factory, lines):
    """Writes lines into a volta data dir (a server started and stopped on it): data only the
    backup holds."""
    data = str(tmp_path_factory.mktemp("volta-backup"))
    port = free_port()
    log = os.path.join(data, "..", "seed-%d.log" % port)
    with open(log, "wb") as lf:
        proc = subprocess.Popen([volta_bin(), "serve", "--data", data, "--listen", "127.0.0.1:%d" % port],
                                stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT)
    srv = VoltaServer(proc, port, data, log)
    _wait_ready(srv, 30)
    write_lines(srv.url, DB, lines)
    srv.stop()
    return data


@pytest.fixture
def backup_volta(tmp_path_factory):
    """A second `volta serve` used as an "influx" backend (restartable on its port)."""
    started = []

    def start(data=None, port=None):
        data = data or str(tmp_path_factory.mktemp("volta-remote-backup"))
        port = port or free_port()
        log = os.path.join(str(tmp_path_factory.mktemp("volta-remote-log")), "serve.log")
        with open(log, "wb") as lf:
            proc = subprocess.Popen([volta_bin(), "serve", "--data", data, "--listen", "127.0.0.1:%d" % port],
                                    stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT)
        srv = VoltaServer(proc, port, data, log)
        started.append(srv)
        _wait_ready(srv, 30)
        return srv

    yield start
    for srv in started:
        if srv.running:
            srv.proc.send_signal(signal.SIGTERM)
            srv.proc.wait(timeout=60)


def primary_with_native_backup(volta_server, tmp_path_factory, tmp_path, backup_lines):
    bdir = seed_native_backup(tmp_path_factory, backup_lines) if backup_lines else \
        str(tmp_path_factory.mktemp("volta-backup-empty"))
    cfg = config(tmp_path, '[backend.backup]\ntype = "native"\npath = "%s"\n' % bdir)
    return volta_server("--config", cfg)


def assert_traffic_restored(url, pre):
    f = flags(url)["flags"]
    assert f["enable_maintenance_mode"] is False
    assert f["read_backend"] == "backup"
    assert float(f["rate_limit_rps"]) == float(pre["rate_limit_rps"])
    assert float(f["rate_limit_burst"]) == float(pre["rate_limit_burst"])


# ---- 1. the full rollback, validate, rollforward ---------------------------------------------------


def test_rollback_native_backup_validate_rollforward(volta_server, tmp_path_factory, tmp_path):
    only_backup = ["geracao,regiao=BACKUPONLY valor=42 %d" % (int(time.time()) - 30)]
    srv = primary_with_native_backup(volta_server, tmp_path_factory, tmp_path, only_backup)
    write_lines(srv.url, DB, now_lines(20))
    wait_caught_up(srv.url)
    http("POST", srv.url + "/api/v1/flags", {"set": {"rate_limit_rps": 0}, "why": "test baseline"})
    pre = flags(srv.url)["flags"]

    # the point is not visible while reads go to the primary
    st, doc = query(srv.url, "SELECT valor FROM geracao WHERE regiao = 'BACKUPONLY'")
    assert st == 200 and values(doc) == []

    r = run_volta("rollback", "--to", "backup", "--host", srv.url, "--yes", "--dwell", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "pre-checks" in out and "freshness" in out
    for step in ("step 1", "step 2", "step 3", "step 4", "step 5"):
        assert step in out, out
    assert "reads served by the backup" in out

    st, doc = query(srv.url, "SELECT valor FROM geracao WHERE regiao = 'BACKUPONLY'")
    assert st == 200 and [v[1] for v in values(doc)] == [42], doc
    assert_traffic_restored(srv.url, pre)
    rec = record(srv.url)
    assert rec["kind"] == "rollback" and rec["state"] == "done" and rec["step"] == 5, rec

    # the audit log holds every transition (volta's status/audit readers use meta.db)
    import sqlite3
    con = sqlite3.connect(os.path.join(srv.data, "meta.db"))
    actions = [a for (a,) in con.execute("SELECT action FROM audit WHERE action LIKE 'rollback.%'")]
    con.close()
    assert actions[0] == "rollback.start" and actions[-1] == "rollback.done" and "rollback.step" in actions

    v = run_volta("validate", "--host", srv.url)
    assert v.returncode == 0, v.stdout + v.stderr
    assert v.stdout.count("✓") == 5 and "0 falha(s)" in v.stdout, v.stdout

    http("POST", srv.url + "/api/v1/flags", {"set": {"enable_maintenance_mode": True}, "why": "test"})
    v = run_volta("validate", "--host", srv.url)
    assert v.returncode == 1, v.stdout + v.stderr
    assert "✗ maintenance mode off" in v.stdout and "1 falha(s)" in v.stdout, v.stdout
    http("POST", srv.url + "/api/v1/flags", {"set": {"enable_maintenance_mode": False}, "why": "test"})

    f = run_volta("rollforward", "--host", srv.url, "--yes")
    assert f.returncode == 0, f.stdout + f.stderr
    fl = flags(srv.url)["flags"]
    assert fl["read_backend"] == "primary" and fl["enable_flux_queries"] == pre["enable_flux_queries"]
    st, doc = query(srv.url, "SELECT valor FROM geracao WHERE regiao = 'BACKUPONLY'")
    assert st == 200 and values(doc) == []
    rec = record(srv.url)
    assert rec["kind"] == "rollforward" and rec["state"] == "done", rec


# ---- 2. dry run ------------------------------------------------------------------------------------


def test_rollback_dry_run_changes_nothing(volta_server, tmp_path_factory, tmp_path):
    srv = primary_with_native_backup(volta_server, tmp_path_factory, tmp_path, None)
    write_lines(srv.url, DB, now_lines(5))
    wait_caught_up(srv.url)
    before = flags(srv.url)
    r = run_volta("rollback", "--to", "backup", "--host", srv.url, "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "plan (--dry-run" in r.stdout and "step 5" in r.stdout
    assert flags(srv.url) == before
    assert record(srv.url) is None


# ---- 3. kill -9 mid-way, then --resume -------------------------------------------------------------


def test_rollback_kill9_then_resume(volta_server, tmp_path_factory, tmp_path):
    srv = primary_with_native_backup(volta_server, tmp_path_factory, tmp_path, None)
    write_lines(srv.url, DB, now_lines(10))
    wait_caught_up(srv.url)
    pre = flags(srv.url)["flags"]
    proc = subprocess.Popen([volta_bin(), "rollback", "--to", "backup", "--host", srv.url, "--yes",
                             "--dwell", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # in the dwell of the first ramp level: rate 10/s, maintenance off
        wait_for("the ramp to start", lambda: float(flags(srv.url)["flags"]["rate_limit_rps"]) == 10.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rec = record(srv.url)
    assert rec["state"] == "running" and rec["step"] == 4 and rec["detail"].get("validated") is True, rec

    # a new rollback is refused, naming the running one
    r = run_volta("rollback", "--to", "backup", "--host", srv.url, "--yes")
    assert r.returncode == 1 and ("rollback %d" % rec["id"]) in r.stderr, r.stderr

    r = run_volta("rollback", "--to", "backup", "--host", srv.url, "--yes", "--resume", "--dwell", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resuming rollback %d after step 4" % rec["id"] in r.stdout
    rec2 = record(srv.url)
    assert rec2["id"] == rec["id"] and rec2["state"] == "done", rec2
    assert_traffic_restored(srv.url, pre)


# ---- 4. empty backup: abort, flags reverted ---------------------------------------------------------


def test_rollback_empty_backup_aborts(volta_server, tmp_path_factory, tmp_path):
    srv = primary_with_native_backup(volta_server, tmp_path_factory, tmp_path, None)
    pre = flags(srv.url)
    r = run_volta("rollback", "--to", "backup", "--host", srv.url, "--yes", "--dwell", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "no point in the last hour" in r.stderr and "aborted" in r.stderr
    after = flags(srv.url)
    assert after["flags"] == pre["flags"]
    assert after["version"] > pre["version"]  # the revert is a version of its own
    rec = record(srv.url)
    assert rec["state"] == "failed" and "no point in the last hour" in rec["error"], rec


# ---- 5. the ramp stops on errors -------------------------------------------------------------------


def test_rollback_ramp_stops_on_errors(volta_server, backup_volta, tmp_path):
    bk = backup_volta()
    cfg = config(tmp_path, '[backend.remote]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 200\n' % bk.url)
    srv = volta_server("--config", cfg)
    write_lines(srv.url, DB, now_lines(10))
    wait_caught_up(srv.url)
    proc = subprocess.Popen([volta_bin(), "rollback", "--to", "backup", "--host", srv.url, "--yes",
                             "--dwell", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for("the ramp to start", lambda: float(flags(srv.url)["flags"]["rate_limit_rps"]) == 10.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the backup goes away: reads routed to it answer 5xx
    bk.stop()
    statuses = []
    for _ in range(8):
        st, _doc = query(srv.url, "SELECT count(valor) FROM geracao")
        statuses.append(st)
        time.sleep(0.15)
    assert sum(1 for s in statuses if s >= 500) >= 6, statuses
    r = run_volta("rollback", "--to", "backup", "--host", srv.url, "--yes", "--resume", "--dwell", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "ramp stopped at 10/s" in r.stderr, r.stderr
    f = flags(srv.url)["flags"]
    assert float(f["rate_limit_rps"]) == 1.0 and f["enable_maintenance_mode"] is False
    rec = record(srv.url)
    assert rec["state"] == "running" and rec["detail"]["ramp_stopped_at"] == 10, rec


# ---- 6. a real InfluxDB 1.6.7 as the backup ----------------------------------------------------------


def test_rollback_influxdb_backup(volta_server, influxd_server, tmp_path):
    ref = influxd_server
    cfg = config(tmp_path, '[backend.influx]\ntype = "influx"\nurl = "%s"\n' % ref.url)
    srv = volta_server("--config", cfg)
    write_lines(srv.url, DB, now_lines(10, meas="geracao_influx"))
    wait_caught_up(srv.url)
    # a point only InfluxDB holds
    req = urllib.request.Request(ref.url + "/write?db=%s&precision=s" % DB,
                                 data=("geracao_influx,regiao=SOINFLUX valor=7 %d" % (int(time.time()) - 5)).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 204
    pre = flags(srv.url)["flags"]
    r = run_volta("rollback", "--to", "backup", "--host", srv.url, "--yes", "--dwell", "1", "--db", DB)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "enable_flux_queries=false" in r.stdout  # InfluxDB 1.6 has no Flux
    st, doc = query(srv.url, "SELECT valor FROM geracao_influx WHERE regiao = 'SOINFLUX'")
    assert st == 200 and [v[1] for v in values(doc)] == [7], doc
    assert_traffic_restored(srv.url, pre)
    assert flags(srv.url)["flags"]["enable_flux_queries"] is False
    v = run_volta("validate", "--host", srv.url, "--db", DB)
    assert v.returncode == 0, v.stdout + v.stderr
    f = run_volta("rollforward", "--host", srv.url, "--yes")
    assert f.returncode == 0, f.stdout + f.stderr
    assert flags(srv.url)["flags"]["enable_flux_queries"] is True


# ---- 7. usage -----------------------------------------------------------------------------------------


def test_rollback_usage(volta_server):
    srv = volta_server()
    for cmd in (["rollback", "--help"], ["rollforward", "--help"], ["validate", "--help"]):
        r = run_volta(*cmd)
        assert r.returncode == 0 and "usage: volta" in r.stdout
    r = run_volta("rollback", "--host", srv.url)
    assert r.returncode == 2 and "--to backup" in r.stderr
    r = run_volta("rollback", "--to", "backup", "--host", srv.url, stdin=subprocess.PIPE)
    assert r.returncode == 2 and "--yes" in r.stderr
    assert record(srv.url) is None
