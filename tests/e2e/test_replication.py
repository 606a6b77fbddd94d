"""
End-to-end replication tests: `volta serve` replays its journal into backup backends (a real
InfluxDB 1.6.7, another `volta serve`, a native volta directory); the backups are killed,
restarted and resynced, and their contents are compared with what the test itself wrote
(per series, per hour: count and sum), and with the primary.

    1. InfluxDB backup SIGKILLed during 100k points of writes: /health, /metrics and
       `volta status` report it retrying with a growing lag; after a restart on the same data
       directory and ports it catches up and holds exactly what was written.
    2. The same with another `volta serve` as the influx-type backup.
    3. A native backup (and an InfluxDB one): 20k points, then DELETE FROM, DROP MEASUREMENT and
       CREATE RETENTION POLICY on the primary reach both; the native directory is read offline
       with `volta query --data` after the primary stopped.
    4. A landing-zone file (CURVA_CARGA_2023.csv) reaches the backup; the ledger records it, and
       file_applied names the backup.
    5. Resync: a backup down for longer than hold_max_seconds while the journal is trimmed is
       marked needs_resync; `volta resync --dry-run` changes nothing; `volta resync` re-sends the
       landing-zone file and the journal tail, and says that HTTP writes inside the gap are lost.
    6. A clean restart of the primary keeps the journal a down backup needs (the appliers' holds
       outlive them until the node's closing trim; a startup hold covers the open).
    7. A backend added after the journal was trimmed is marked needs_resync and `volta resync`
       rebuilds it from the landing zone.

Needs influxd (skips otherwise) and, for 4 and 5, ../shared/data/ons (skips with a message).
"""
import datetime
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest
import requests

import influxref
from conftest import VoltaServer, _wait_ready, free_port, volta_bin

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_ONS = os.path.join(os.environ.get("VOLTA_SHARED_DATA",
                                         os.path.join(HERE, "..", "..", "..", "shared", "data")),
                          "ons")
SUBSYSTEMS = ("N", "NE", "SE", "S")
T0 = 1700000000 - 1700000000 % 3600  # 2023-11-14T22:00:00Z, hour aligned


# ---- helpers: processes ---------------------------------------------------------------------------


@pytest.fixture
def influx():
    """One real influxd (temp dir, free ports); removed at teardown even after kills/restarts."""
    if influxref.influxd_path() is None:
        pytest.skip("influxd (InfluxDB 1.x) is not installed: set INFLUXD or install /usr/bin/influxd")
    ref = influxref.InfluxRef.start()
    yield ref
    ref.stop()


def influx_kill(ref):
    ref.proc.kill()
    ref.proc.wait()


def influx_restart(ref):
    """Starts influxd again with the same config file: same data dir, same ports."""
    assert not ref.running
    conf = os.path.join(ref.dir, "influxd.conf")
    logf = open(os.path.join(ref.dir, "influxd.log"), "ab")
    ref.proc = subprocess.Popen([influxref.influxd_path(), "run", "-config", conf],
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    assert ref._wait_ping(60), "influxd did not restart:\n" + ref.log()[-3000:]


@pytest.fixture
def volta_at(tmp_path_factory):
    """start(data, port, *args): `volta serve` on a given port (restartable on the same port)."""
    started = []

    def start(data, port, *args):
        logdir = str(tmp_path_factory.mktemp("volta-fixed-log"))
        log_path = os.path.join(logdir, "serve.log")
        argv = [volta_bin(), "serve", "--data", data, "--listen", "127.0.0.1:%d" % port]
        argv += [str(a) for a in args]
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        srv = VoltaServer(proc, port, data, log_path)
        started.append(srv)
        _wait_ready(srv, 60.0)
        return srv

    yield start
    for srv in started:
        if srv.running:
            srv.proc.send_signal(signal.SIGTERM)
            try:
                srv.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                srv.proc.kill()
                srv.proc.wait()


def write_config(tmp_path, text):
    path = os.path.join(str(tmp_path), "volta.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run_volta(*args, timeout=300):
    return subprocess.run([volta_bin()] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


# ---- helpers: HTTP ---------------------------------------------------------------------------------


def iql(url, q, db=None, epoch="s"):
    params = {"q": q, "epoch": epoch}
    if db:
        params["db"] = db
    r = requests.post(url + "/query", params=params, timeout=120)
    assert r.status_code == 200, "%s: %s -> %d %s" % (url, q, r.status_code, r.text[:500])
    doc = r.json()
    for res in doc.get("results", []):
        assert "error" not in res, "%s: %s -> %s" % (url, q, res["error"])
    return doc


def write_lines(url, db, lines, precision="s"):
    r = requests.post(url + "/write", params={"db": db, "precision": precision},
                      data="\n".join(lines).encode(), timeout=120)
    assert r.status_code == 204, "%s /write -> %d %s" % (url, r.status_code, r.text[:500])


def health(url):
    r = requests.get(url + "/health", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def backend_of(h, name):
    for b in h.get("backends", []):
        if b["name"] == name:
            return b
    raise AssertionError("backend %s not in /health: %s" % (name, h))


def wait_for(what, pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = pred()
        if ok:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s; last: %r" % (timeout, what, last))


def wait_caught_up(url, name, timeout=120):
    def pred():
        h = health(url)
        b = backend_of(h, name)
        ok = (b["state"] == "following" and b["lag_records"] == 0
              and b["cursor"] == h["primary"]["journal_last_seq"])
        return ok, b
    return wait_for("backend %s to catch up" % name, pred, timeout)


def metric(url, name, backend):
    text = requests.get(url + "/metrics", timeout=30).text
    m = re.search(r'^%s\{backend="%s"[^}]*\}\s+(\S+)\s*$' % (re.escape(name), re.escape(backend)),
                  text, re.M)
    assert m, "metric %s{backend=%s} not in /metrics:\n%s" % (name, backend, text[:3000])
    return float(m.group(1))


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- data the test writes and what it expects back -------------------------------------------------


def gen_points(nplants, nsteps, step_s, seed, t0=T0):
    """[((plant, subsystem), t, value)], time-major (a batch spans every series)."""
    rnd = random.Random(seed)
    pts = []
    for k in range(nsteps):
        t = t0 + k * step_s
        for p in range(nplants):
            for s in SUBSYSTEMS:
                pts.append((("p%d" % p, s), t, round(rnd.uniform(-50.0, 5000.0), 6)))
    return pts


def to_lines(meas, pts):
    return ["%s,plant=%s,subsystem=%s value=%r %d" % (meas, p, s, v, t) for (p, s), t, v in pts]


def expected_hourly(meas, pts):
    acc = {}
    for (p, s), t, v in pts:
        acc.setdefault((meas, (("plant", p), ("subsystem", s)), t - t % 3600), []).append(v)
    return {k: (len(v), math.fsum(v)) for k, v in acc.items()}


def hourly_query(meas, t0, t1):
    return ("SELECT count(value), sum(value) FROM %s WHERE time >= '%s' AND time < '%s' "
            "GROUP BY time(1h), * fill(none)" % (meas, rfc3339(t0), rfc3339(t1)))


def hourly_from_doc(doc):
    """{(measurement, sorted tag items, hour): (count, sum)} from an InfluxDB 1.x JSON answer."""
    out = {}
    for res in doc.get("results", []):
        assert "error" not in res, res["error"]
        for s in res.get("series", []) or []:
            cols = s["columns"]
            it, ic, isum = cols.index("time"), cols.index("count"), cols.index("sum")
            tags = tuple(sorted((s.get("tags") or {}).items()))
            for row in s["values"]:
                if not row[ic]:
                    continue
                key = (s["name"], tags, row[it])
                assert key not in out, "duplicate bucket %r" % (key,)
                out[key] = (row[ic], row[isum])
    return out


def assert_same_hourly(expected, got, label):
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing and not extra, "%s: %d buckets missing (e.g. %r), %d unexpected (e.g. %r)" % (
        label, len(missing), missing[:3], len(extra), extra[:3])
    bad = []
    for k, (c, s) in expected.items():
        gc, gs = got[k]
        if gc != c or not math.isclose(gs, s, rel_tol=1e-9, abs_tol=1e-6):
            bad.append((k, (c, s), (gc, gs)))
    assert not bad, "%s: %d buckets differ, e.g. %r" % (label, len(bad), bad[:3])
    assert sum(c for c, _ in got.values()) == sum(c for c, _ in expected.values())


def scalar(doc):
    """First value of the first row (None when there is no series)."""
    series = doc["results"][0].get("series")
    if not series:
        return None
    return series[0]["values"][0][1]


def count_of(url, db, meas):
    v = scalar(iql(url, "SELECT count(value) FROM %s" % meas, db))
    return v or 0


def offline_query(data, db, q, epoch="s"):
    r = run_volta("query", "--data", data, "--db", db, "--format", "json", "--epoch", epoch, q)
    assert r.returncode == 0, "volta query --data %s %r -> %d\n%s%s" % (data, q, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


def rp_names(doc):
    series = doc["results"][0].get("series") or []
    if not series:
        return {}
    cols = series[0]["columns"]
    return {row[cols.index("name")]: row for row in series[0]["values"]}


def measurements(doc):
    series = doc["results"][0].get("series") or []
    return sorted(row[0] for s in series for row in s["values"])


def rows_of(doc):
    """The rows of a one-series answer as dicts column -> value."""
    series = doc["results"][0].get("series") or []
    assert len(series) == 1, doc
    return [dict(zip(series[0]["columns"], row)) for row in series[0]["values"]]


def notime_rows(doc):
    """{k tag: (time, value)} of SELECT value FROM notime GROUP BY k."""
    out = {}
    for s in doc["results"][0].get("series") or []:
        assert len(s["values"]) == 1, s
        out[s["tags"]["k"]] = tuple(s["values"][0])
    return out


def load_csv_sums(path):
    """Per id_subsistema: (count, fsum) of val_cargaenergiahomwmed, read from the ONS file."""
    acc = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline().strip().split(";")
        isub, ival = header.index("id_subsistema"), header.index("val_cargaenergiahomwmed")
        for line in f:
            cells = line.rstrip("\r\n").split(";")
            if len(cells) <= ival or cells[ival] == "":
                continue
            acc.setdefault(cells[isub], []).append(float(cells[ival]))
    return {k: (len(v), math.fsum(v)) for k, v in acc.items()}


def per_tag_sums(url, db, meas, tag):
    doc = iql(url, "SELECT count(value), sum(value) FROM %s GROUP BY %s" % (meas, tag), db)
    out = {}
    for s in doc["results"][0].get("series") or []:
        cols = s["columns"]
        row = s["values"][0]
        out[s["tags"][tag]] = (row[cols.index("count")], row[cols.index("sum")])
    return out


def assert_sums_equal(expected, got, label):
    assert set(expected) == set(got), "%s: keys %r != %r" % (label, sorted(expected), sorted(got))
    for k, (c, s) in expected.items():
        assert got[k][0] == c, "%s[%s]: count %r != %r" % (label, k, got[k][0], c)
        assert math.isclose(got[k][1], s, rel_tol=1e-9), "%s[%s]: sum %r != %r" % (label, k, got[k][1], s)


def need_shared(name):
    path = os.path.join(SHARED_ONS, name)
    if not os.path.exists(path):
        pytest.skip("shared test data absent (%s): ../shared/data/ons is not there" % path)
    return path


def drop_into_landing(src, landing, staging):
    """Copy to a staging dir on the same file system, then rename into the landing zone."""
    os.makedirs(staging, exist_ok=True)
    tmp = os.path.join(staging, os.path.basename(src))
    shutil.copyfile(src, tmp)
    os.rename(tmp, os.path.join(landing, os.path.basename(src)))


def file_applied_backends(data, basename):
    """Backends the ledger records as having applied the file (read-only, while the server runs)."""
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "meta.db"), uri=True, timeout=10)
    try:
        return [r[0] for r in con.execute(
            "SELECT a.backend FROM file_applied a JOIN files f ON f.id = a.file_id WHERE f.path LIKE ?",
            ("%" + basename,))]
    finally:
        con.close()


def ledger_file(url, basename):
    files = requests.get(url + "/api/v1/ledger", timeout=30).json()["files"]
    for f in files:
        if os.path.basename(f["path"]) == basename:
            return f
    return None


def wait_loaded(url, basename, timeout=120):
    def pred():
        f = ledger_file(url, basename)
        if f and f["state"] == "failed":
            raise AssertionError("landing-zone load failed: %r" % f)
        return bool(f and f["state"] == "loaded"), f
    return wait_for("%s to be loaded" % basename, pred, timeout, interval=0.2)


# ---- 1 and 2: a backup killed during writes -------------------------------------------------------

BIG_STEPS, BIG_STEP_S, NPLANTS = 500, 7 * 60, 50  # 200 series x 500 points = 100k, ~58 h
BATCH_LINES = 5000


def _kill_during_writes(primary_url, name, kill, restart, backup_url, backup_label):
    iql(primary_url, "CREATE DATABASE gen")
    pts = gen_points(NPLANTS, BIG_STEPS, BIG_STEP_S, seed=1)
    assert len(pts) == 100_000
    lines = to_lines("generation", pts)
    batches = [lines[i:i + BATCH_LINES] for i in range(0, len(lines), BATCH_LINES)]
    kill_after = 6  # 30k points
    for b in batches[:kill_after]:
        write_lines(primary_url, "gen", b)
    kill()

    # down: the primary keeps taking writes; the backend is retrying, its lag grows
    write_lines(primary_url, "gen", batches[kill_after])
    b1 = wait_for("state retrying",
                  lambda: ((lambda b: (b["state"] == "retrying" and b["last_error"] != "", b))(
                      backend_of(health(primary_url), name))), 30)
    assert b1["lag_records"] > 0 and b1["failures"] >= 1, b1
    assert b1["primary_seq"] == b1["cursor"] + b1["lag_records"], b1
    write_lines(primary_url, "gen", batches[kill_after + 1])
    b2 = backend_of(health(primary_url), name)
    assert b2["state"] == "retrying", b2
    assert b2["lag_records"] > b1["lag_records"], (b1, b2)
    assert b2["cursor"] == b1["cursor"], (b1, b2)
    assert b2["lag_seconds"] > 0, b2
    assert metric(primary_url, "volta_backend_up", name) == 0
    assert metric(primary_url, "volta_backend_lag_records", name) > 0
    assert metric(primary_url, "volta_backend_lag_seconds", name) > 0
    assert metric(primary_url, "volta_backend_failures_total", name) >= 1
    st = run_volta("status", "--host", primary_url, timeout=60)
    assert st.returncode == 1, st.stdout + st.stderr
    assert re.search(r"^\s*%s\s+influx\s+retrying\b" % name, st.stdout, re.M), st.stdout
    assert "last error:" in st.stdout, st.stdout
    for b in batches[kill_after + 2:]:
        write_lines(primary_url, "gen", b)

    restart()
    done = wait_caught_up(primary_url, name, timeout=180)
    # a fresh primary: every record it journaled was applied once by this applier
    assert done["applied_records"] == done["cursor"] == done["primary_seq"], done
    assert done["lag_seconds"] == 0, done
    assert metric(primary_url, "volta_backend_up", name) == 1
    assert metric(primary_url, "volta_backend_lag_records", name) == 0
    assert metric(primary_url, "volta_backend_cursor", name) == done["cursor"]
    st = run_volta("status", "--host", primary_url, timeout=60)
    assert st.returncode == 0, st.stdout + st.stderr

    expected = expected_hourly("generation", pts)
    q = hourly_query("generation", T0, T0 + BIG_STEPS * BIG_STEP_S + 3600)
    assert_same_hourly(expected, hourly_from_doc(iql(primary_url, q, "gen")), "primary")
    assert_same_hourly(expected, hourly_from_doc(iql(backup_url, q, "gen")), backup_label)
    assert count_of(backup_url, "gen", "generation") == 100_000


def test_influx_backup_killed_during_writes(influx, volta_server, tmp_path):
    cfg = write_config(tmp_path, '[backend.idb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 300\n'
                       % influx.url)
    srv = volta_server("--config", cfg, "--no-landing")
    _kill_during_writes(srv.url, "idb", lambda: influx_kill(influx), lambda: influx_restart(influx),
                        influx.url, "influxdb backup")


def test_volta_backup_killed_during_writes(volta_server, volta_at, tmp_path, tmp_path_factory):
    bdata = str(tmp_path_factory.mktemp("volta-backup-data"))
    bport = free_port()
    backup = {"srv": volta_at(bdata, bport, "--no-landing")}
    cfg = write_config(tmp_path, '[backend.vb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 300\n'
                       % backup["srv"].url)
    srv = volta_server("--config", cfg, "--no-landing")

    def kill():
        backup["srv"].kill()  # SIGKILL

    def restart():
        backup["srv"] = volta_at(bdata, bport, "--no-landing")

    _kill_during_writes(srv.url, "vb", kill, restart, "http://127.0.0.1:%d" % bport, "volta backup")
    srv.stop()
    backup["srv"].stop()


# ---- 3: native backup; deletes, drops and retention policies replicate ----------------------------


def test_native_backup_and_catalog_changes(influx, volta_server, tmp_path, tmp_path_factory):
    native = os.path.join(str(tmp_path_factory.mktemp("native-backup")), "bk")
    vbackup = volta_server("--no-landing")  # another volta behind the influx protocol
    cfg = write_config(tmp_path,
                       '[backend.bk]\ntype = "native"\npath = "%s"\n'
                       '[backend.idb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 300\n'
                       '[backend.vb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 300\n'
                       % (native, influx.url, vbackup.url))
    srv = volta_server("--config", cfg, "--no-landing")
    names = ("bk", "idb", "vb")
    remotes = ((influx.url, "influx"), (vbackup.url, "volta backup"))
    iql(srv.url, "CREATE DATABASE grid")
    steps, step_s = 100, 7 * 60
    pts = gen_points(NPLANTS, steps, step_s, seed=3)
    assert len(pts) == 20_000
    lines = to_lines("generation", pts)
    for i in range(0, len(lines), BATCH_LINES):
        write_lines(srv.url, "grid", lines[i:i + BATCH_LINES])
    aux = ["aux,src=x value=%d %d" % (i, T0 + i * 60) for i in range(300)]
    write_lines(srv.url, "grid", aux)
    # every field type, escapes, a string with a quote and a space (influx_remote parses those)
    write_lines(srv.url, "grid", ['typed,k=a\\ b,z=1 i=5i,s="x \\"y\\" z",b=true,f=1.5 %d' % (T0 + 1),
                                  'typed,k=c i=-7i,s="plain",b=false,f=-0.25 %d' % (T0 + 2)])
    # lines without a timestamp: the backups must store the primary's server time
    before_ms = int(time.time() * 1000)
    write_lines(srv.url, "grid", ["notime,k=n%d value=%d" % (i, i) for i in range(10)], precision="ms")
    after_ms = int(time.time() * 1000)
    for name in names:
        wait_caught_up(srv.url, name)
    q = hourly_query("generation", T0, T0 + steps * step_s + 3600)
    expected = expected_hourly("generation", pts)
    for rurl, label in remotes:
        assert_same_hourly(expected, hourly_from_doc(iql(rurl, q, "grid")), label + " before delete")
        assert count_of(rurl, "grid", "aux") == 300, label

    # catalog and deletes on the primary
    cut = T0 + 10 * 3600
    iql(srv.url, "DELETE FROM generation WHERE plant = 'p1'", "grid")
    iql(srv.url, "DELETE FROM generation WHERE subsystem = 'S' AND time < '%s'" % rfc3339(cut), "grid")
    iql(srv.url, "DROP MEASUREMENT aux", "grid")
    iql(srv.url, "CREATE RETENTION POLICY short ON grid DURATION 30d REPLICATION 1", "grid")
    for name in names:
        wait_caught_up(srv.url, name)
    kept = [p for p in pts if p[0][0] != "p1" and not (p[0][1] == "S" and p[1] < cut)]
    assert 0 < len(kept) < len(pts)
    expected = expected_hourly("generation", kept)

    assert_same_hourly(expected, hourly_from_doc(iql(srv.url, q, "grid")), "primary after delete")
    for rurl, label in remotes:
        assert_same_hourly(expected, hourly_from_doc(iql(rurl, q, "grid")), label + " after delete")
        assert count_of(rurl, "grid", "generation") == len(kept), label
        assert measurements(iql(rurl, "SHOW MEASUREMENTS", "grid")) == ["generation", "notime", "typed"], label
    typed_expected = [
        {"time": (T0 + 1) * 10**9, "b": True, "f": 1.5, "i": 5, "k": "a b", "s": 'x "y" z', "z": "1"},
        {"time": (T0 + 2) * 10**9, "b": False, "f": -0.25, "i": -7, "k": "c", "s": "plain", "z": None},
    ]
    assert rows_of(iql(srv.url, "SELECT * FROM typed", "grid", epoch="ns")) == typed_expected
    for rurl, label in remotes:
        assert rows_of(iql(rurl, "SELECT * FROM typed", "grid", epoch="ns")) == typed_expected, label
    notime_q = "SELECT value FROM notime GROUP BY k"
    notime = notime_rows(iql(srv.url, notime_q, "grid", epoch="ms"))
    assert sorted(notime) == ["n%d" % i for i in range(10)], notime
    assert all(before_ms <= t <= after_ms and v == int(k[1:]) for k, (t, v) in notime.items()), notime
    for rurl, label in remotes:
        assert notime_rows(iql(rurl, notime_q, "grid", epoch="ms")) == notime, label
        rps = rp_names(iql(rurl, "SHOW RETENTION POLICIES ON grid"))
        assert "short" in rps and rps["short"][1] == "720h0m0s", (label, rps)

    srv.stop()  # SIGTERM: the native directory is unlocked
    prim = offline_query(srv.data, "grid", q)
    back = offline_query(native, "grid", q)
    assert_same_hourly(expected, hourly_from_doc(prim), "primary offline")
    assert_same_hourly(expected, hourly_from_doc(back), "native backup offline")
    assert hourly_from_doc(prim) == hourly_from_doc(back)
    for data, label in ((srv.data, "primary"), (native, "native backup")):
        assert measurements(offline_query(data, "grid", "SHOW MEASUREMENTS")) == ["generation", "notime", "typed"], label
        assert rows_of(offline_query(data, "grid", "SELECT * FROM typed", epoch="ns")) == typed_expected, label
        assert notime_rows(offline_query(data, "grid", notime_q, epoch="ms")) == notime, label
        rps = rp_names(offline_query(data, "grid", "SHOW RETENTION POLICIES ON grid"))
        assert "short" in rps and rps["short"][1] == "720h0m0s", (label, rps)
        assert scalar(offline_query(data, "grid", "SELECT count(value) FROM generation")) == len(kept), label


# ---- 4: a landing-zone file reaches the backup ------------------------------------------------------


def test_landing_file_reaches_backup(influx, volta_server, tmp_path):
    src = need_shared("CURVA_CARGA_2023.csv")
    landing = os.path.join(str(tmp_path), "landing")
    os.makedirs(landing)
    cfg = write_config(tmp_path,
                       '[ingest]\nlanding = "%s"\n'
                       '[backend.idb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 300\n'
                       % (landing, influx.url))
    srv = volta_server("--config", cfg)
    drop_into_landing(src, landing, os.path.join(str(tmp_path), "staging"))
    f = wait_loaded(srv.url, "CURVA_CARGA_2023.csv")
    assert f["rows_loaded"] == 35040 and f["database"] == "ons", f
    assert f["points"] == 35040 and f["rows_rejected"] == 0 and f["dataset"] == "load", f
    # the landing counters are added up right after the ledger row is written: wait for them
    def counted():
        land = health(srv.url)["landing"]
        return land["loaded"] == 1, land
    land = wait_for("landing counters", counted, 30)
    assert land["loaded"] == 1 and land["rows_loaded"] == 35040 and land["failed"] == 0, land
    b = wait_caught_up(srv.url, "idb")
    assert b["cursor"] >= f["seq_last"], (b, f)

    expected = load_csv_sums(src)
    assert sum(c for c, _ in expected.values()) == 35040
    assert count_of(influx.url, "ons", "load") == 35040
    assert_sums_equal(expected, per_tag_sums(srv.url, "ons", "load", "subsystem"), "primary")
    assert_sums_equal(expected, per_tag_sums(influx.url, "ons", "load", "subsystem"), "influx backup")

    def applied():
        return file_applied_backends(srv.data, "CURVA_CARGA_2023.csv")
    # one row per backend that has the file: the primary (the loader) and the backup
    wait_for("file_applied row for idb", lambda: (sorted(applied()) == ["idb", "primary"], applied()), 30)
    srv.stop()


# ---- 5: resync after the journal was trimmed past a backend ----------------------------------------


def test_resync_after_trimmed_journal(influx, volta_server, tmp_path):
    src = need_shared("CURVA_CARGA_2022.csv")
    landing = os.path.join(str(tmp_path), "landing")
    os.makedirs(landing)
    cfg = write_config(tmp_path,
                       '[journal]\nsegment_bytes = 65536\nfsync = "never"\n'
                       '[engine]\nmemtable_bytes = 65536\n'
                       '[ingest]\nlanding = "%s"\n'
                       '[backend.idb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 200\n'
                       'hold_max_seconds = 1\n' % (landing, influx.url))
    srv = volta_server("--config", cfg)
    url = srv.url
    iql(url, "CREATE DATABASE app")

    def tracked_write(meas, n, t_start):
        """One /write of n points; returns (first seq, last seq) the journal gave it."""
        before = health(url)["primary"]["journal_last_seq"]
        write_lines(url, "app", ["%s,w=a value=%d %d" % (meas, i, t_start + i) for i in range(n)])
        after = health(url)["primary"]["journal_last_seq"]
        return before + 1, after, n

    # A: replicated while the backup is up
    write_lines(url, "app", ["phase_a,w=a value=%d %d" % (i, T0 + i) for i in range(2000)])
    cursor_a = wait_caught_up(url, "idb")["cursor"]

    # the backup goes down; a landing-zone file and HTTP writes arrive
    influx_kill(influx)
    drop_into_landing(src, landing, os.path.join(str(tmp_path), "staging"))
    f = wait_loaded(url, "CURVA_CARGA_2022.csv")
    assert f["rows_loaded"] == 35040, f
    writes_b = []
    t_b = T0 + 100_000
    start = time.monotonic()

    def gap_done():
        h = health(url)
        b = backend_of(h, "idb")
        first = h["primary"]["journal_first_seq"]
        return (b["state"] == "needs_resync" and first > b["cursor"] + 1 and first > f["seq_last"] + 1
                and first > writes_b[0][1] + 1), (b, h["primary"])
    deadline = start + 90
    while True:
        writes_b.append(tracked_write("phase_b", 500, t_b))
        t_b += 500
        ok, last = gap_done()
        if ok and time.monotonic() - start > 1.5:
            break
        assert time.monotonic() < deadline, "no needs_resync + trimmed journal within 90 s: %r" % (last,)
        time.sleep(0.05)
    b = backend_of(health(url), "idb")
    assert b["cursor"] == cursor_a, b
    assert b["resync_reason"], b
    assert "hold_max_seconds" in b["resync_reason"] or "gone" in b["resync_reason"], b
    st = run_volta("status", "--host", url, timeout=60)
    assert st.returncode == 1 and "needs_resync" in st.stdout and "needs resync:" in st.stdout, st.stdout

    # C: the journal tail, written after the gap
    writes_c = [tracked_write("phase_c", 100, T0 + 200_000 + k * 100) for k in range(3)]
    for lo, hi, _n in writes_b + writes_c:
        assert hi == lo, "one /write = one journal record expected (%d..%d)" % (lo, hi)

    influx_restart(influx)
    time.sleep(0.5)
    assert backend_of(health(url), "idb")["state"] == "needs_resync"

    # dry run: reports, changes nothing
    dry = run_volta("resync", "--host", url, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "gap: records" in dry.stdout, dry.stdout
    assert re.search(r"would re-send \S*CURVA_CARGA_2022\.csv \(\d+ points\)", dry.stdout), dry.stdout
    assert "cannot be rebuilt" in dry.stdout, dry.stdout
    assert "would apply journal records" in dry.stdout, dry.stdout
    time.sleep(0.5)
    b = backend_of(health(url), "idb")
    assert b["state"] == "needs_resync" and b["cursor"] == cursor_a, b
    assert count_of(influx.url, "app", "phase_b") == 0
    assert count_of(influx.url, "app", "phase_c") == 0
    assert count_of(influx.url, "app", "phase_a") == 2000
    dbs = [r[0] for r in iql(influx.url, "SHOW DATABASES")["results"][0]["series"][0]["values"]]
    assert "ons" not in dbs, dbs

    # the repair
    rs = run_volta("resync", "--host", url)
    assert rs.returncode == 0, rs.stdout + rs.stderr
    m = re.search(r"primary journal holds (\d+)\.\.(\d+)", rs.stdout)
    assert m, rs.stdout
    first, last = int(m.group(1)), int(m.group(2))
    assert last == writes_c[-1][1], (last, writes_c)
    assert "applied journal records: %d (cursor now %d)" % (last - first + 1, last) in rs.stdout, rs.stdout
    assert re.search(r"re-sent \S*CURVA_CARGA_2022\.csv: 35040 points", rs.stdout), rs.stdout
    assert "cannot be rebuilt" in rs.stdout, rs.stdout
    assert "cleared the needs-resync mark" in rs.stdout, rs.stdout
    done = wait_caught_up(url, "idb")
    assert not done.get("resync_reason"), done
    assert sorted(file_applied_backends(srv.data, "CURVA_CARGA_2022.csv")) == ["idb", "primary"]
    st = run_volta("status", "--host", url, timeout=60)
    assert st.returncode == 0, st.stdout + st.stderr

    again = run_volta("resync", "--host", url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing missing" in again.stdout and "gap" not in again.stdout, again.stdout

    expected = load_csv_sums(src)
    assert count_of(influx.url, "ons", "load") == 35040
    assert_sums_equal(expected, per_tag_sums(influx.url, "ons", "load", "subsystem"), "backup after resync")
    assert_sums_equal(expected, per_tag_sums(url, "ons", "load", "subsystem"), "primary")
    assert count_of(influx.url, "app", "phase_a") == 2000
    assert count_of(influx.url, "app", "phase_c") == 300
    kept_b = sum(n for lo, _hi, n in writes_b if lo >= first)
    lost_b = sum(n for lo, _hi, n in writes_b if lo < first)
    assert lost_b > 0, (first, writes_b[:3])
    assert count_of(influx.url, "app", "phase_b") == kept_b
    assert count_of(url, "app", "phase_b") == kept_b + lost_b
    srv.stop()


# ---- 6 and 7: journal records a backend needs, gone after a restart of the primary ------------------

def test_primary_restart_keeps_journal_for_down_backup(influx, volta_server, tmp_path):
    """A clean restart of the primary must not trim journal records a lagging backup still
    needs (hold_max_seconds is 7 days by default): after influxd comes back it catches up by
    itself, without a resync."""
    cfg = write_config(tmp_path, '[backend.idb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 300\n'
                       % influx.url)
    srv = volta_server("--config", cfg, "--no-landing")
    iql(srv.url, "CREATE DATABASE gen")
    pts = gen_points(NPLANTS, 100, 7 * 60, seed=6)
    lines = to_lines("generation", pts)
    write_lines(srv.url, "gen", lines[:4000])
    cursor = wait_caught_up(srv.url, "idb")["cursor"]
    influx_kill(influx)
    for i in range(4000, len(lines), 1000):
        write_lines(srv.url, "gen", lines[i:i + 1000])
    h = health(srv.url)
    last = h["primary"]["journal_last_seq"]
    assert 1 <= h["primary"]["journal_first_seq"] <= cursor + 1 < last, h
    assert backend_of(h, "idb")["cursor"] == cursor
    srv.stop()

    srv = volta_server("--config", cfg, "--no-landing", data=srv.data)
    h = health(srv.url)
    b = backend_of(h, "idb")
    assert b["cursor"] == cursor and h["primary"]["journal_last_seq"] == last, (b, h)
    assert 1 <= h["primary"]["journal_first_seq"] <= cursor + 1, (
        "the restart trimmed journal records backend idb still needs: %r" % h)
    influx_restart(influx)
    wait_caught_up(srv.url, "idb", timeout=60)
    q = hourly_query("generation", T0, T0 + 100 * 7 * 60 + 3600)
    assert_same_hourly(expected_hourly("generation", pts), hourly_from_doc(iql(influx.url, q, "gen")),
                       "influx after primary restart")
    srv.stop()


def test_backend_added_after_trim_is_resynced(influx, volta_server, tmp_path):
    """A backend added after the primary trimmed its journal (resync.h, case 2): marked
    needs_resync, and `volta resync` rebuilds it from the landing-zone file."""
    src = need_shared("CURVA_CARGA_2024.csv")
    landing = os.path.join(str(tmp_path), "landing")
    os.makedirs(landing)
    base = '[ingest]\nlanding = "%s"\n' % landing
    srv = volta_server("--config", write_config(tmp_path, base))
    drop_into_landing(src, landing, os.path.join(str(tmp_path), "staging"))
    f = wait_loaded(srv.url, "CURVA_CARGA_2024.csv")
    srv.stop()  # clean shutdown: the journal is trimmed down to nothing

    cfg = write_config(tmp_path, base + '[backend.idb]\ntype = "influx"\nurl = "%s"\n'
                       'retry_max_ms = 300\n' % influx.url)
    srv = volta_server("--config", cfg, data=srv.data)

    def pred():
        b = backend_of(health(srv.url), "idb")
        return b["state"] == "needs_resync" and bool(b.get("resync_reason")), b
    wait_for("needs_resync for a backend added after the trim", pred, 10)
    rs = run_volta("resync", "--host", srv.url)
    assert rs.returncode == 0, rs.stdout + rs.stderr
    assert re.search(r"re-sent \S*CURVA_CARGA_2024\.csv: %d points" % f["points"], rs.stdout), rs.stdout
    wait_caught_up(srv.url, "idb")
    expected = load_csv_sums(src)
    assert_sums_equal(expected, per_tag_sums(influx.url, "ons", "load", "subsystem"), "backup after resync")
    srv.stop()
