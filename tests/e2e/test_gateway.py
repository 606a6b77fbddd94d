"""The gateway against a real `volta serve` (docs/GATEWAY.md): feature flags (admin API and the
CLI, online --host and offline --data on a running server's meta.db), maintenance mode, rate
limits, Flux switched off, history/revert and the audit log.

No timed assertions: changes made offline are awaited by polling with a generous deadline.
"""
import json
import os
import sqlite3
import subprocess
import time

import requests

from conftest import volta_bin


def cli(*args, check=True):
    p = subprocess.run([volta_bin()] + [str(a) for a in args], capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, "volta %s -> %d\n%s%s" % (" ".join(map(str, args)), p.returncode, p.stdout, p.stderr)
    return p


def wait_for(pred, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def set_flags(srv, why="", **flags):
    r = requests.post(srv.url + "/api/v1/flags", json={"set": flags, "why": why})
    assert r.status_code == 200, r.text
    return r.json()


def setup_db(srv, db="gw"):
    r = requests.post(srv.url + "/query", params={"q": "CREATE DATABASE %s" % db})
    assert r.status_code == 200, r.text


def write(srv, db="gw", line="m v=1"):
    return requests.post(srv.url + "/write", params={"db": db}, data=line)


def audit_rows(data):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "meta.db"), uri=True, timeout=10)
    try:
        return con.execute("SELECT who, action, detail FROM audit ORDER BY id").fetchall()
    finally:
        con.close()


def test_flags_api_defaults_and_validation(volta_server):
    srv = volta_server()
    r = requests.get(srv.url + "/api/v1/flags")
    assert r.status_code == 200
    doc = r.json()
    assert doc["version"] == 0
    assert doc["flags"] == {
        "enable_maintenance_mode": False,
        "read_backend": "primary",
        "enable_flux_queries": True,
        "rate_limit_rps": 0,
        "rate_limit_burst": 0,
        "failover": "off",
        "failover_unavailable_s": 1800,
        "failover_latency_pct": 300,
        "failover_ramp_dwell_s": 30,
    }
    h = requests.get(srv.url + "/health").json()
    assert h["maintenance"] is False and h["read_backend"] == "primary"

    r = requests.post(srv.url + "/api/v1/flags", json={"set": {"read_backend": "secondary"}})
    assert r.status_code == 400
    assert "read_backend" in r.json()["error"] and "primary, backup" in r.json()["error"]
    r = requests.post(srv.url + "/api/v1/flags", json={"set": {"no_such_flag": True}})
    assert r.status_code == 400 and "unknown flag: no_such_flag" in r.json()["error"]
    r = requests.post(srv.url + "/api/v1/flags", data="not json")
    assert r.status_code == 400
    r = requests.get(srv.url + "/api/v1/flags/history?limit=0")
    assert r.status_code == 400
    assert requests.get(srv.url + "/api/v1/flags").json()["version"] == 0

    # the CLI: a bad value is a usage error (2) that names the flag
    p = cli("flags", "set", "rate_limit_rps=-5", "--host", srv.url, check=False)
    assert p.returncode == 2 and "rate_limit_rps" in p.stderr
    p = cli("flags", "get", "read_backend", "--host", srv.url)
    assert p.stdout.strip() == "primary"
    p = cli("flags", "--help")
    assert "revert" in p.stdout


def test_maintenance_mode(volta_server):
    srv = volta_server()
    setup_db(srv)
    assert write(srv).status_code == 204

    doc = set_flags(srv, why="disk swap", enable_maintenance_mode=True)
    assert doc == {"version": 1, "changed": ["enable_maintenance_mode"]}

    r = write(srv)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
    assert r.json() == {"error": "volta is in maintenance mode"}
    r = requests.get(srv.url + "/query", params={"db": "gw", "q": "SELECT * FROM m"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    r = requests.post(srv.url + "/api/v2/write", params={"bucket": "gw"}, data="m v=2")
    assert r.status_code == 503
    assert r.json()["code"] == "unavailable" and "maintenance" in r.json()["message"]
    r = requests.post(srv.url + "/api/v2/query", data='from(bucket:"gw") |> range(start:-1h)',
                      headers={"Content-Type": "application/vnd.flux"})
    assert r.status_code == 503

    # operators are never locked out
    assert requests.get(srv.url + "/ping").status_code == 204
    h = requests.get(srv.url + "/health")
    assert h.status_code == 200 and h.json()["maintenance"] is True
    assert requests.get(srv.url + "/metrics").status_code == 200
    assert requests.get(srv.url + "/api/v1/flags").json()["flags"]["enable_maintenance_mode"] is True
    assert requests.get(srv.url + "/api/v1/ratelimit").status_code == 200
    # an operator's own requests (X-Volta-Operator with admin rights: here loopback in protected
    # mode) pass, as the volta CLI's do; the header alone gives a client nothing once keys exist
    op = {"X-Volta-Operator": "cli"}
    r = requests.get(srv.url + "/query", params={"db": "gw", "q": "SELECT count(v) FROM m"}, headers=op)
    assert r.status_code == 200 and r.json()["results"][0]["series"][0]["values"][0][1] == 1, r.text
    doc = json.loads(cli("keys", "create", "--data", srv.data, "--scope", "read", "--json").stdout)
    wait_for(lambda: requests.get(srv.url + "/api/v1/flags").status_code == 401, "the keys made offline")
    r = requests.get(srv.url + "/query", params={"db": "gw", "q": "SELECT count(v) FROM m"},
                     headers=dict(op, **{"x-api-key": doc["key"]}))
    assert r.status_code == 503, r.text  # a read key is no operator
    admin = json.loads(cli("keys", "create", "--data", srv.data, "--scope", "admin", "--json").stdout)["key"]
    wait_for(lambda: requests.get(srv.url + "/api/v1/flags", headers={"x-api-key": admin}).status_code == 200,
             "the admin key made offline")
    r = requests.get(srv.url + "/query", params={"db": "gw", "q": "SELECT count(v) FROM m"},
                     headers=dict(op, **{"x-api-key": admin}))
    assert r.status_code == 200, r.text
    requests.post(srv.url + "/api/v1/flags", json={"set": {"enable_maintenance_mode": False}},
                  headers={"x-api-key": admin}).raise_for_status()
    assert requests.post(srv.url + "/write", params={"db": "gw"}, data="m v=3",
                         headers={"x-api-key": admin}).status_code == 204
    assert requests.get(srv.url + "/health").json()["maintenance"] is False


def test_offline_set_reaches_running_server(volta_server):
    srv = volta_server()
    setup_db(srv)
    p = cli("flags", "set", "enable_maintenance_mode=on", "read_backend=backup", "--why", "offline test",
            "--data", srv.data)
    assert "flags version 1" in p.stdout
    # the server polls meta.db every 200 ms
    wait_for(lambda: requests.get(srv.url + "/health").json()["maintenance"] is True, "maintenance on /health")
    h = requests.get(srv.url + "/health").json()
    assert h["read_backend"] == "backup"
    assert write(srv).status_code == 503

    p = cli("flags", "list", "--host", srv.url, "--json")
    doc = json.loads(p.stdout)
    assert doc["version"] == 1 and doc["flags"]["enable_maintenance_mode"] is True

    cli("flags", "set", "enable_maintenance_mode=false", "read_backend=primary", "--data", srv.data)
    wait_for(lambda: write(srv).status_code == 204, "writes accepted again")

    p = cli("flags", "list", "--data", srv.data)
    assert "enable_maintenance_mode" in p.stdout and "version 2" in p.stdout


def test_history_and_revert(volta_server):
    srv = volta_server()
    cli("flags", "set", "rate_limit_rps=100", "--why", "first", "--host", srv.url)
    cli("flags", "set", "enable_flux_queries=false", "failover=alert", "--why", "second", "--host", srv.url)
    p = cli("flags", "set", "failover=alert", "--host", srv.url)
    assert "no change" in p.stdout

    hist = json.loads(cli("flags", "history", "--host", srv.url, "--json").stdout)["versions"]
    assert [v["version"] for v in hist] == [2, 1]
    assert hist[0]["why"] == "second"
    assert hist[0]["who"].startswith("api:loopback")
    assert {c["name"]: (c["old"], c["new"]) for c in hist[0]["changes"]} == {
        "enable_flux_queries": ("", "false"),
        "failover": ("", "alert"),
    }
    assert hist[0]["at"].endswith("Z")
    text = cli("flags", "history", "--limit", "1", "--host", srv.url).stdout
    assert "version 2" in text and "version 1" not in text

    p = cli("flags", "revert", "1", "--why", "undo", "--host", srv.url)
    assert "flags version 3" in p.stdout
    flags = requests.get(srv.url + "/api/v1/flags").json()["flags"]
    assert flags["enable_flux_queries"] is True and flags["failover"] == "off"
    assert flags["rate_limit_rps"] == 100
    hist = requests.get(srv.url + "/api/v1/flags/history?limit=1").json()["versions"]
    assert hist[0]["version"] == 3 and hist[0]["why"] == "revert to version 1: undo"

    r = requests.post(srv.url + "/api/v1/flags/revert", json={"version": 42})
    assert r.status_code == 404 and "42" in r.json()["error"]
    p = cli("flags", "revert", "42", "--host", srv.url, check=False)
    assert p.returncode == 1

    # offline revert to 0: the defaults, picked up by the server
    cli("flags", "revert", "0", "--data", srv.data)
    wait_for(lambda: requests.get(srv.url + "/api/v1/flags").json()["flags"]["rate_limit_rps"] == 0,
             "revert 0 seen by the server")


def test_rate_limit(volta_server):
    srv = volta_server()
    setup_db(srv)
    p = cli("ratelimit", "set", "2/s", "--burst", "2", "--why", "load test", "--host", srv.url)
    assert "2/s" in p.stdout
    assert requests.get(srv.url + "/api/v1/ratelimit").json()["global"] == {"rps": 2, "burst": 2}

    statuses = []
    refused = None
    for _ in range(20):
        r = write(srv)
        statuses.append(r.status_code)
        if r.status_code == 429 and refused is None:
            refused = r
    assert 429 in statuses, statuses
    assert statuses.count(204) >= 2
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json() == {"error": "rate limit exceeded (global 2/s)"}
    r = requests.post(srv.url + "/api/v2/write", params={"bucket": "gw"}, data="m v=1")
    if r.status_code == 429:
        assert r.json()["code"] == "too many requests"

    # admin endpoints and /health are not limited
    for _ in range(20):
        assert requests.get(srv.url + "/api/v1/ratelimit").status_code == 200
        assert requests.get(srv.url + "/health").status_code == 200
    doc = requests.get(srv.url + "/api/v1/ratelimit").json()
    assert doc["refused_total"] >= 1
    metrics = requests.get(srv.url + "/metrics").text
    assert metrics  # the series themselves are the metrics helper's

    # recovery: a token comes back
    wait_for(lambda: write(srv).status_code == 204, "a write accepted after the bucket refilled")

    # the history records the change
    hist = requests.get(srv.url + "/api/v1/flags/history?limit=1").json()["versions"][0]
    assert hist["why"] == "load test"

    cli("ratelimit", "set", "off", "--host", srv.url)
    assert all(write(srv).status_code == 204 for _ in range(30))
    text = cli("ratelimit", "show", "--host", srv.url).stdout
    assert "off" in text
    p = cli("ratelimit", "set", "fast", "--host", srv.url, check=False)
    assert p.returncode == 2


def test_flux_disabled(volta_server):
    srv = volta_server()
    setup_db(srv)
    flux = 'from(bucket:"gw") |> range(start:-1h)'
    headers = {"Content-Type": "application/vnd.flux"}
    before = requests.post(srv.url + "/api/v2/query", data=flux, headers=headers)
    assert before.status_code != 403

    cli("flags", "set", "enable_flux_queries=false", "--host", srv.url)
    r = requests.post(srv.url + "/api/v2/query", data=flux, headers=headers)
    assert r.status_code == 403
    assert r.json() == {"code": "forbidden", "message": "Flux queries are disabled (enable_flux_queries=false)"}
    # InfluxQL still works
    assert requests.get(srv.url + "/query", params={"q": "SHOW DATABASES"}).status_code == 200

    cli("flags", "set", "enable_flux_queries=true", "--host", srv.url)
    assert requests.post(srv.url + "/api/v2/query", data=flux, headers=headers).status_code == before.status_code


def test_audit_entries(volta_server):
    srv = volta_server()
    set_flags(srv, why="api change", enable_maintenance_mode=True)
    cli("flags", "set", "enable_maintenance_mode=false", "--why", "cli change", "--data", srv.data)
    cli("ratelimit", "set", "50/s", "--host", srv.url)
    rows = [r for r in audit_rows(srv.data) if r[1] == "flags.set"]
    assert len(rows) == 3, rows
    assert rows[0][0] == "api:loopback"
    assert rows[0][2] == "enable_maintenance_mode: false -> true; api change"
    assert rows[1][0].startswith("cli:")
    assert rows[1][2] == "enable_maintenance_mode: true -> false; cli change"
    assert rows[2][0].startswith("api:loopback (cli:")
    assert rows[2][2].startswith("rate_limit_rps: 0 -> 50")
