"""End-to-end tests of `volta repair` (docs/REPAIR.md), on real data directories.

Each test writes 3 series x 4 fields (float, integer, boolean, string; 350 hourly points, blocks
of 100) through a real `volta serve`, keeps every point as a query returns it, stops the server
and flips one bit in block 0 of the segment file. Then:
  - a query reaching the block fails naming file and block, and volta_corrupt_blocks_total counts it;
  - `volta repair` rebuilds it from (a) the journal (trim = false), (b) a native backup backend,
    (c) a real InfluxDB 1.6.7 backup backend, (d) a backup repository made by `volta backup`;
  - afterwards `volta check --checks checksums` passes and every point queried is identical to
    before the corruption; without any source the range is named and the exit code is 1.
"""
import json
import os
import subprocess
import time

import pytest
import requests

import influxref
from conftest import volta_bin

DB = "grid"
T0 = 1704067200  # 2024-01-01T00:00:00Z
NPTS = 350


def run(*args, check=None):
    p = subprocess.run([volta_bin()] + [str(a) for a in args], capture_output=True, text=True, timeout=600)
    if check is not None:
        assert p.returncode == check, "volta %s -> %d\n%s\n%s" % (" ".join(map(str, args)), p.returncode, p.stdout, p.stderr)
    return p


def write_config(tmp_path, text):
    p = tmp_path / "volta.toml"
    p.write_text("[engine]\nblock_points = 100\n" + text)
    return str(p)


def lines():
    out = []
    for s in ("SE", "NE", "S"):
        for i in range(NPTS):
            out.append('load,subsystem=%s value=%r,n=%di,ok=%s,txt="v%d-%s" %d'
                       % (s, i * 1.25 + 0.1 + len(s), i * 7 - 100, "true" if i % 3 else "false", i, s,
                          (T0 + i * 3600) * 10**9))
    return out


def load(srv):
    r = requests.post(srv.url + "/query", params={"q": "CREATE DATABASE %s" % DB}, timeout=30)
    assert r.status_code == 200, r.text
    r = requests.post(srv.url + "/write", params={"db": DB}, data="\n".join(lines()).encode(), timeout=60)
    assert r.status_code == 204, r.text


def query_all(url):
    r = requests.get(url + "/query", params={"db": DB, "epoch": "ns",
                                             "q": "SELECT * FROM load GROUP BY * ORDER BY time"}, timeout=60)
    return r.status_code, r.json()


def snapshot_points(srv):
    status, doc = query_all(srv.url)
    assert status == 200, doc
    series = doc["results"][0]["series"]
    assert len(series) == 3 and all(len(s["values"]) == NPTS for s in series), doc
    return doc


def corrupt(data):
    seg_dir = os.path.join(data, "engine", "seg")
    segs = sorted(f for f in os.listdir(seg_dir) if f.endswith(".vseg"))
    assert len(segs) == 1, segs
    path = os.path.join(seg_dir, segs[0])
    with open(path, "r+b") as f:
        f.seek(16 + 5)  # block 0 starts right after the 16-byte header
        b = f.read(1)
        f.seek(16 + 5)
        f.write(bytes([b[0] ^ 0x10]))
    return segs[0]


def metric(url, name):
    text = requests.get(url + "/metrics", timeout=30).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    raise AssertionError("%s not in /metrics" % name)


def assert_query_fails(volta_server, data, seg, before, cfg=None):
    """The statement fails naming file and block; the series before the error are the ones it
    had read in full, identical to before: nothing of the corrupt series is served."""
    args = ["--no-landing"] + (["--config", cfg] if cfg else [])
    srv = volta_server(*args, data=data)
    status, doc = query_all(srv.url)
    res = doc["results"][0]
    err = res.get("error", "")
    assert seg in err and "block 0 at offset 16" in err and "checksum mismatch" in err, json.dumps(doc)[:1000]
    served = res.get("series", [])
    assert len(served) < 3
    for s in served:
        assert s in before["results"][0]["series"]
    assert metric(srv.url, "volta_corrupt_blocks_total") >= 1
    srv.stop()


def assert_repaired(volta_server, data, before, cfg=None):
    run("check", "--data", data, "--checks", "checksums", check=0)
    args = ["--no-landing"] + (["--config", cfg] if cfg else [])
    srv = volta_server(*args, data=data)
    status, doc = query_all(srv.url)
    assert status == 200
    assert doc == before  # every point, bit for bit (times in ns, floats as Go prints them)
    srv.stop()


def repair_json(*args, check):
    p = run("repair", "--json", *args, check=check)
    return json.loads(p.stdout)


def test_repair_from_journal(volta_server, tmp_path):
    cfg = write_config(tmp_path, "[journal]\ntrim = false\n")
    srv = volta_server("--config", cfg, "--no-landing")
    load(srv)
    before = snapshot_points(srv)
    srv.stop()
    seg = corrupt(srv.data)
    assert_query_fails(volta_server, srv.data, seg, before, cfg)
    seg_path = os.path.join(srv.data, "engine", "seg", seg)
    corrupted = open(seg_path, "rb").read()
    # dry run: says what it would do, changes nothing
    p = run("repair", "--data", srv.data, "--config", cfg, "--dry-run", check=0)
    assert "would rebuild from journal" in p.stdout, p.stdout
    assert open(seg_path, "rb").read() == corrupted
    doc = repair_json("--data", srv.data, "--config", cfg, check=0)
    assert len(doc["items"]) == 1, doc
    it = doc["items"][0]
    assert it["status"] == "rebuilt" and it["source"].startswith("journal"), it
    assert it["block"] == 0 and it["offset"] == 16 and seg in it["file"], it
    assert it["count"] == 100 and it["source_points"] == 100 and it["after_points"] == 100, it
    assert it["series"].startswith("load,subsystem=") and it["min"] == "2024-01-01T00:00:00Z", it
    assert doc["verified"] and doc["exit_code"] == 0, doc
    assert_repaired(volta_server, srv.data, before, cfg)
    # nothing left to repair
    p = run("repair", "--data", srv.data, "--config", cfg, check=0)
    assert "nothing to repair" in p.stdout, p.stdout


def test_repair_from_native_backup(volta_server, tmp_path, tmp_path_factory):
    bdir = str(tmp_path_factory.mktemp("volta-repair-backup"))
    cfg = write_config(tmp_path, '[backend.bk]\ntype = "native"\npath = "%s"\n' % bdir)
    srv = volta_server("--config", cfg, "--no-landing")
    load(srv)
    before = snapshot_points(srv)
    _wait_caught_up(srv.url, "bk")
    srv.stop()
    seg = corrupt(srv.data)
    assert_query_fails(volta_server, srv.data, seg, before, cfg)
    # no source: exit 1 naming the series and range; the block stays (queries keep failing)
    p = run("repair", "--data", srv.data, "--no-journal", check=1)
    assert "NOT REBUILT" in p.stdout and "load,subsystem=" in p.stdout, p.stdout
    assert "[2024-01-01T00:00:00Z, 2024-01-05T03:00:00Z]" in p.stdout, p.stdout
    run("check", "--data", srv.data, "--checks", "checksums", check=1)
    doc = repair_json("--data", srv.data, "--config", cfg, "--no-journal", check=0)
    it = doc["items"][0]
    assert it["status"] == "rebuilt" and it["source"] == "backend bk", it
    assert_repaired(volta_server, srv.data, before, cfg)


def test_repair_from_influxdb_backup(volta_server, tmp_path):
    if influxref.influxd_path() is None:
        pytest.skip("influxd (InfluxDB 1.x) is not installed")
    ref = influxref.InfluxRef.start()
    try:
        cfg = write_config(tmp_path, '[backend.idb]\ntype = "influx"\nurl = "%s"\nretry_max_ms = 300\n' % ref.url)
        srv = volta_server("--config", cfg, "--no-landing")
        load(srv)
        before = snapshot_points(srv)
        _wait_caught_up(srv.url, "idb")
        srv.stop()
        seg = corrupt(srv.data)
        p = run("repair", "--data", srv.data, "--config", cfg, "--no-journal", "--dry-run", check=0)
        assert "would rebuild from backend idb" in p.stdout, p.stdout
        doc = repair_json("--data", srv.data, "--config", cfg, "--no-journal", "--backend", "idb", check=0)
        it = doc["items"][0]
        assert it["status"] == "rebuilt" and it["source"] == "backend idb", it
        assert it["source_points"] == 100 and it["after_points"] == 100, it
        assert_repaired(volta_server, srv.data, before, cfg)
    finally:
        ref.stop()


def test_repair_from_backup_repository(volta_server, tmp_path):
    cfg = write_config(tmp_path, "")
    srv = volta_server("--config", cfg, "--no-landing")
    load(srv)
    before = snapshot_points(srv)
    repo = str(tmp_path / "repo")
    run("backup", "--repo", repo, "--host", srv.url, check=0)
    srv.stop()
    seg = corrupt(srv.data)
    assert_query_fails(volta_server, srv.data, seg, before, cfg)
    doc = repair_json("--data", srv.data, "--no-journal", "--from", repo, check=0)
    it = doc["items"][0]
    assert it["status"] == "rebuilt" and it["source"].startswith("backup "), it
    assert doc["verified"], doc
    assert not [f for f in os.listdir(srv.data) if f.startswith(".repair-")]  # scratch removed
    assert_repaired(volta_server, srv.data, before, cfg)


def test_unrecoverable_dropped(volta_server, tmp_path):
    cfg = write_config(tmp_path, "")
    srv = volta_server("--config", cfg, "--no-landing")
    load(srv)
    before = snapshot_points(srv)
    srv.stop()
    corrupt(srv.data)
    doc = repair_json("--data", srv.data, "--no-journal", "--drop-unrecoverable", check=1)
    it = doc["items"][0]
    assert it["status"] == "dropped" and doc["exit_code"] == 1, doc
    # the store reads again, without exactly the block's 100 points of that series and field
    run("check", "--data", srv.data, "--checks", "checksums", check=0)
    srv2 = volta_server("--no-landing", data=srv.data)
    status, doc2 = query_all(srv2.url)
    assert status == 200
    lost_series = it["series"]
    for a, b in zip(before["results"][0]["series"], doc2["results"][0]["series"]):
        key = "load," + ",".join("%s=%s" % kv for kv in sorted(a["tags"].items()))
        if key != lost_series:
            assert a == b
            continue
        col = a["columns"].index(it["field"])
        lost = [r for r in a["values"] if it["min_time"] <= r[0] <= it["max_time"]]
        assert len(lost) == 100
        want = [r if r not in lost else r[:col] + [None] + r[col + 1:] for r in a["values"]]
        assert b["values"] == want
    srv2.stop()


def _wait_caught_up(url, name, timeout=120):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        h = requests.get(url + "/health", timeout=30).json()
        for b in h.get("backends", []):
            if b["name"] == name:
                last = b
                if b["lag_records"] == 0 and b["cursor"] == h["primary"]["journal_last_seq"]:
                    return
        time.sleep(0.1)
    raise AssertionError("backend %s did not catch up: %r" % (name, last))
