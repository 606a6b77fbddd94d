"""Automatic failover (flag `failover`): real servers.

- failover=alert: a corrupt block read on the primary raises the corruption trigger once —
  an audit entry `failover.alert`, volta_failover_triggers_total{reason="corruption",
  action="alert"} = 1 — and changes nothing (reads stay on the primary);
- failover=off: the same fault triggers nothing; `volta serve --failover=MODE` sets the flag;
- failover=auto on a failing primary is exercised by `volta drill` (slow-primary: the latency
  trigger runs the rollback by itself; tests/e2e/test_drill.py).
"""
import glob
import os
import sqlite3
import subprocess
import time

import requests

from conftest import volta_bin


def cli(*args):
    p = subprocess.run([volta_bin()] + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "volta %s -> %d\n%s%s" % (" ".join(map(str, args)), p.returncode, p.stdout, p.stderr)
    return p


def metric(url, name, labels):
    text = requests.get(url + "/metrics").text
    want = name + "{" + ",".join('%s="%s"' % kv for kv in labels.items()) + "}"
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return None


def corrupt_and_read(srv, tmp_path):
    requests.post(srv.url + "/query", data={"q": "CREATE DATABASE f"}).raise_for_status()
    lines = "\n".join("m,s=s%d v=%d %d" % (i % 4, i, 1_700_000_000_000_000_000 + i * 10**9) for i in range(20000))
    assert requests.post(srv.url + "/write?db=f", data=lines).status_code == 204
    cli("backup", "--repo", tmp_path / "repo", "--host", srv.url)  # flushes into a segment
    seg = max(glob.glob(os.path.join(srv.data, "engine", "seg", "*.vseg")), key=os.path.getsize)
    with open(seg, "r+b") as f:
        f.seek(os.path.getsize(seg) // 3)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0xFF]))
    r = requests.get(srv.url + "/query", params={"db": "f", "q": "SELECT v FROM m"})
    assert "error" in r.text and os.path.basename(seg) in r.text, r.text  # refused, named


def audit_actions(data):
    db = sqlite3.connect(os.path.join(data, "meta.db"))
    try:
        return [row[0] for row in db.execute("SELECT action FROM audit WHERE who = 'failover'")]
    finally:
        db.close()


def test_alert_on_corruption_changes_nothing(volta_server, tmp_path):
    srv = volta_server("--failover=alert")
    assert requests.get(srv.url + "/api/v1/flags").json()["flags"]["failover"] == "alert"
    corrupt_and_read(srv, tmp_path)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "failover.alert" not in audit_actions(srv.data):
        time.sleep(0.1)
    assert "failover.alert" in audit_actions(srv.data)
    assert metric(srv.url, "volta_failover_triggers_total", {"reason": "corruption", "action": "alert"}) == 1
    assert metric(srv.url, "volta_failover_triggers_total", {"reason": "corruption", "action": "rollback"}) == 0
    h = requests.get(srv.url + "/health").json()
    assert h["read_backend"] == "primary" and h["maintenance"] is False
    time.sleep(2.5)  # a lasting condition fires once
    assert metric(srv.url, "volta_failover_triggers_total", {"reason": "corruption", "action": "alert"}) == 1
    assert "failover-" not in " ".join(os.listdir(srv.data))  # no rollback was started


def test_off_triggers_nothing(volta_server, tmp_path):
    srv = volta_server()
    corrupt_and_read(srv, tmp_path)
    time.sleep(2.5)  # the monitor looks once a second
    assert metric(srv.url, "volta_failover_triggers_total", {"reason": "corruption", "action": "alert"}) == 0
    assert audit_actions(srv.data) == []


def test_serve_failover_option_is_validated(tmp_path):
    p = subprocess.run([volta_bin(), "serve", "--data", str(tmp_path / "d"), "--failover=sometimes"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "off, alert or auto" in p.stderr, p.stderr
