"""API keys against a real `volta serve` (docs/AUTH.md): the first key created offline with
`volta keys create --data` on a running server's data directory; every credential form (x-api-key,
Authorization Token / Bearer / Basic, the v1 u/p parameters) with requests, the python influxdb
client and the real `influx` CLI; scopes (a read key refused on /write and on modifying
statements) and the database restriction; revocation (admin API, CLI online and offline);
/ping and /health served without a key; the admin API never shows secrets; the CLI sends
$VOLTA_API_KEY; protected mode (no key: loopback clients only) reached through a non-loopback
address of this machine.

No timed assertions: changes made offline are awaited by polling with a generous deadline.
"""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import time

import pytest
import requests

from conftest import free_port, volta_bin

NEED_KEY = ("authentication required: send an API key (x-api-key header, Authorization: Token <key>, "
            "or u/p parameters)")
PROTECTED = ("volta is in protected mode: no API key exists, so only loopback clients are served; "
             "create one with `volta keys create --scope admin` on the server")


def cli(*args, check=True, env=None):
    full = dict(os.environ)
    full.pop("VOLTA_API_KEY", None)
    if env:
        full.update(env)
    p = subprocess.run([volta_bin()] + [str(a) for a in args], capture_output=True, text=True, timeout=60, env=full)
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


def create_offline(data, *args):
    """`volta keys create --data DIR ... --json` -> the document (with "key")."""
    p = cli("keys", "create", "--data", data, "--json", *args)
    doc = json.loads(p.stdout)
    assert doc["key"].startswith("vk_" + doc["id"] + "_")
    assert "shown only once" in p.stderr
    return doc


def q(srv, query, key=None, **kw):
    headers = {"x-api-key": key} if key else {}
    return requests.get(srv.url + "/query", params={"q": query}, headers=headers, **kw)


def first_key(srv):
    """Creates an admin key offline and waits until the running server requires keys."""
    assert q(srv, "SHOW DATABASES").status_code == 200  # protected mode: loopback served
    doc = create_offline(srv.data, "--scope", "admin", "--name", "first")
    wait_for(lambda: q(srv, "SHOW DATABASES").status_code == 401, "the server to pick up the offline key")
    return doc["key"], doc["id"]


def audit_rows(data):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "meta.db"), uri=True, timeout=10)
    try:
        return con.execute("SELECT who, action, detail FROM audit ORDER BY id").fetchall()
    finally:
        con.close()


def test_credential_forms(volta_server):
    srv = volta_server()
    admin, admin_id = first_key(srv)

    r = q(srv, "SHOW DATABASES")
    assert r.status_code == 401 and r.json()["error"] == NEED_KEY
    r = q(srv, "SHOW DATABASES", key=admin + "x")
    assert r.status_code == 401 and r.json()["error"] == "invalid API key"
    assert q(srv, "SHOW DATABASES", key=admin).status_code == 200

    url = srv.url + "/query"
    p = {"q": "SHOW DATABASES"}
    assert requests.get(url, params=p, headers={"Authorization": "Token " + admin}).status_code == 200
    assert requests.get(url, params=p, headers={"Authorization": "Bearer " + admin}).status_code == 200
    assert requests.get(url, params=p, auth=("anyone", admin)).status_code == 200  # Basic
    assert requests.get(url, params=dict(p, u="anyone", p=admin)).status_code == 200
    assert requests.get(url, params=dict(p, u="anyone", p="root")).status_code == 401
    assert requests.get(url, params=p, auth=("anyone", "root")).status_code == 401
    # form-encoded POST /query with the key in the URL
    r = requests.post(url, params={"u": "x", "p": admin}, data={"q": "CREATE DATABASE forms"})
    assert r.status_code == 200, r.text

    # exempt endpoints
    assert requests.get(srv.url + "/ping").status_code == 204
    assert requests.get(srv.url + "/health").status_code == 200
    # /metrics needs read
    assert requests.get(srv.url + "/metrics").status_code == 401
    assert requests.get(srv.url + "/metrics", headers={"x-api-key": admin}).status_code == 200

    # the audit log names the key, never the secret
    rows = audit_rows(srv.data)
    creates = [r for r in rows if r[1] == "keys.create"]
    assert len(creates) == 1 and admin_id in creates[0][2]
    assert all(admin[16:] not in r[2] for r in rows)
    # last_used_at is written (by the poller, not the request)
    doc = json.loads(cli("keys", "list", "--data", srv.data, "--json").stdout)
    wait_for(lambda: json.loads(cli("keys", "list", "--data", srv.data, "--json").stdout)["keys"][0]["last_used_at"],
             "last_used_at to be flushed")
    assert "key" not in doc["keys"][0] and "hash" not in doc["keys"][0]


def test_clients(volta_server):
    srv = volta_server()
    admin, _ = first_key(srv)
    from influxdb import InfluxDBClient
    from influxdb.exceptions import InfluxDBClientError

    c = InfluxDBClient(host="127.0.0.1", port=srv.port, username="anyone", password=admin, database="pyc", timeout=30)
    c.create_database("pyc")
    assert c.write_points([{"measurement": "m", "tags": {"h": "a"}, "fields": {"v": 1.5}, "time": 1_000_000_000}],
                          time_precision="n")
    pts = list(c.query('SELECT v FROM m', database="pyc").get_points())
    assert pts and pts[0]["v"] == 1.5
    assert {"name": "pyc"} in c.get_list_database()
    bad = InfluxDBClient(host="127.0.0.1", port=srv.port, username="anyone", password="wrong", timeout=30)
    with pytest.raises(InfluxDBClientError) as e:
        bad.get_list_database()
    assert e.value.code == 401

    influx = shutil.which("influx")
    if influx is None:
        pytest.skip("the influx CLI is not installed")
    p = subprocess.run([influx, "-host", "127.0.0.1", "-port", str(srv.port), "-username", "x", "-password", admin,
                        "-execute", "SHOW DATABASES"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "pyc" in p.stdout
    p = subprocess.run([influx, "-host", "127.0.0.1", "-port", str(srv.port), "-username", "x", "-password", "nope",
                        "-execute", "SHOW DATABASES"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "invalid API key" in (p.stdout + p.stderr)


def test_scopes_db_and_revocation(volta_server):
    srv = volta_server()
    admin, _ = first_key(srv)
    assert q(srv, "CREATE DATABASE a", key=admin).status_code == 200
    assert q(srv, "CREATE DATABASE b", key=admin).status_code == 200
    read = create_offline(srv.data, "--scope", "read")
    wkey = create_offline(srv.data, "--scope", "write", "--db", "a", "--rps", "1000")
    wait_for(lambda: requests.get(srv.url + "/query", params={"q": "SHOW MEASUREMENTS", "db": "a"},
                                  headers={"x-api-key": wkey["key"]}).status_code == 200, "the keys made offline")

    h = {"x-api-key": read["key"]}
    r = requests.post(srv.url + "/write", params={"db": "a"}, data="m v=1", headers=h)
    assert r.status_code == 403
    assert r.json()["error"] == "API key %s lacks the write scope" % read["id"]
    r = q(srv, "DROP DATABASE a", key=read["key"])
    assert r.status_code == 403 and "lacks the write scope" in r.json()["error"]
    r = requests.get(srv.url + "/query", params={"q": "SELECT * FROM \"drop\" WHERE t = 'delete'", "db": "a"}, headers=h)
    assert r.status_code == 200, r.text  # quoted keywords are not statements
    r = requests.get(srv.url + "/api/v1/keys", headers=h)
    assert r.status_code == 403 and "lacks the admin scope" in r.json()["error"]

    hw = {"x-api-key": wkey["key"]}
    assert requests.post(srv.url + "/write", params={"db": "a"}, data="m v=1", headers=hw).status_code == 204
    r = requests.post(srv.url + "/write", params={"db": "b"}, data="m v=1", headers=hw)
    assert r.status_code == 403
    assert r.json()["error"] == "API key %s is limited to database a" % wkey["id"]
    # inside /query, every database the statements name must be the key's one
    limited = "API key %s is limited to database a: " % wkey["id"]
    for text, why in [("DROP DATABASE b", "the query names database b"),
                      ("SELECT * FROM \"b\"..\"m\"", "the query names database b"),
                      ("SELECT * INTO \"b\"..\"copy\" FROM m", "the query names database b"),
                      ("SHOW MEASUREMENTS ON b", "the query names database b"),
                      ("SHOW DATABASES", "the query concerns every database"),
                      ("SELECT * FROM m; DROP DATABASE b", "the query names database b")]:
        r = requests.post(srv.url + "/query", params={"db": "a"}, data={"q": text}, headers=hw)
        assert r.status_code == 403 and r.json()["error"] == limited + why, (text, r.text)
    assert q(srv, "SHOW DATABASES", key=admin).json()["results"][0]["series"][0]["values"] == [["a"], ["b"]]
    r = requests.get(srv.url + "/query", params={"q": "SELECT * FROM \"a\"..\"m\"", "db": "a"}, headers=hw)
    assert r.status_code == 200 and r.json()["results"][0]["series"][0]["values"][0][1] == 1, r.text
    r = requests.post(srv.url + "/query", params={"db": "a"}, json={"question": "geração atual", "db": "b"}, headers=hw)
    assert r.status_code == 403 and r.json()["error"] == limited + "the query names database b", r.text

    # the admin API: list (no secrets), create, revoke
    ha = {"x-api-key": admin}
    keys = requests.get(srv.url + "/api/v1/keys", headers=ha).json()["keys"]
    assert len(keys) == 3
    text = json.dumps(keys)
    assert read["key"] not in text and admin not in text and wkey["key"][16:] not in text
    r = requests.post(srv.url + "/api/v1/keys", headers=ha, json={"name": "api", "scope": "write", "db": "b"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["key"].startswith("vk_") and made["scope"] == "write" and made["db"] == "b"
    assert requests.post(srv.url + "/write", params={"db": "b"}, data="m v=1",
                         headers={"x-api-key": made["key"]}).status_code == 204
    assert requests.post(srv.url + "/api/v1/keys", headers=ha, json={"scope": "root"}).status_code == 400
    assert requests.post(srv.url + "/api/v1/keys", headers=ha, json={"scope": "admin", "db": "x"}).status_code == 400
    assert requests.delete(srv.url + "/api/v1/keys", params={"id": "nosuchkey000"}, headers=ha).status_code == 404
    r = requests.delete(srv.url + "/api/v1/keys", params={"id": made["id"]}, headers=ha)
    assert r.status_code == 200 and r.json()["revoked"] is True
    r = requests.post(srv.url + "/write", params={"db": "b"}, data="m v=1", headers={"x-api-key": made["key"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid API key"

    # the CLI online: refused without a key, works with $VOLTA_API_KEY or --api-key
    p = cli("keys", "list", "--host", srv.url, check=False)
    assert p.returncode == 1 and "401" in p.stderr
    p = cli("keys", "list", "--host", srv.url, env={"VOLTA_API_KEY": admin})
    assert read["id"] in p.stdout and "revoked" in p.stdout
    cli("keys", "revoke", read["id"], "--host", srv.url, "--api-key", admin)
    assert q(srv, "SHOW DATABASES", key=read["key"]).status_code == 401
    p = cli("keys", "revoke", "nosuchkey000", "--host", srv.url, env={"VOLTA_API_KEY": admin}, check=False)
    assert p.returncode == 1

    # offline revocation reaches the running server
    cli("keys", "revoke", wkey["id"], "--data", srv.data)
    wait_for(lambda: requests.post(srv.url + "/write", params={"db": "a"}, data="m v=1", headers=hw).status_code == 401,
             "the offline revocation to reach the server")

    actions = [r[1] for r in audit_rows(srv.data)]
    assert actions.count("keys.create") == 4 and actions.count("keys.revoke") == 3


def non_loopback_address():
    addrs = []
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout
        addrs = [a for a in out.split() if ":" not in a]
    except (OSError, subprocess.SubprocessError):
        pass
    if not addrs:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("192.0.2.1", 9))  # no packet sent: picks the outgoing interface
                addrs = [s.getsockname()[0]]
        except OSError:
            pass
    for a in addrs:
        if not a.startswith("127."):
            return a
    return None


def test_protected_mode(tmp_path):
    addr = non_loopback_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback IPv4 address to reach the server through")
    data = str(tmp_path / "data")
    os.makedirs(data)
    log_path = str(tmp_path / "serve.log")
    proc = None
    for _attempt in range(3):
        port = free_port()
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen([volta_bin(), "serve", "--data", data, "--listen", "0.0.0.0:%d" % port],
                                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        time.sleep(0.05)
        if proc.poll() is not None and "Address already in use" in open(log_path).read():
            continue
        break
    local = "http://127.0.0.1:%d" % port
    remote = "http://%s:%d" % (addr, port)
    try:
        def up():
            try:
                return requests.get(local + "/ping", timeout=2).status_code == 204
            except requests.RequestException:
                assert proc.poll() is None, open(log_path).read()
                return False
        wait_for(up, "volta serve to answer /ping", timeout=30)
        try:
            r = requests.get(remote + "/query", params={"q": "SHOW DATABASES"}, timeout=10)
        except requests.RequestException as e:
            pytest.skip("%s is not reachable from this machine: %s" % (addr, e))
        assert r.status_code == 403, r.text
        assert r.json()["error"] == PROTECTED
        assert requests.post(remote + "/write", params={"db": "x"}, data="m v=1", timeout=10).status_code == 403
        assert requests.get(remote + "/ping", timeout=10).status_code == 204  # exempt
        assert requests.get(local + "/query", params={"q": "SHOW DATABASES"}, timeout=10).status_code == 200

        doc = create_offline(data, "--scope", "read")
        wait_for(lambda: requests.get(remote + "/query", params={"q": "SHOW DATABASES"}, timeout=10).status_code == 401,
                 "the key to end protected mode")
        assert requests.get(remote + "/query", params={"q": "SHOW DATABASES"}, headers={"x-api-key": doc["key"]},
                            timeout=10).status_code == 200
        assert requests.get(local + "/query", params={"q": "SHOW DATABASES"}, timeout=10).status_code == 401
    finally:
        proc.terminate()
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert rc == 0, open(log_path).read()


def test_operator_commands_send_the_key(volta_server, tmp_path):
    """Every operator command that talks to a server sends $VOLTA_API_KEY: query, export,
    import (their own HTTP requests) as well as those built on cli_http."""
    srv = volta_server()
    key, _ = first_key(srv)
    env = {"VOLTA_API_KEY": key}
    cli("query", "--host", srv.url, "CREATE DATABASE k", env=env)
    lp = tmp_path / "in.lp"
    lp.write_text("m,s=a v=1 1700000000000000000\nm,s=b v=2 1700000000000000000\n")
    cli("import", "--host", srv.url, "--db", "k", lp, env=env)
    p = cli("query", "--host", srv.url, "--db", "k", "--format", "json", "SELECT count(v) FROM m", env=env)
    assert json.loads(p.stdout)["results"][0]["series"][0]["values"][0][1] == 2, p.stdout
    out = tmp_path / "out.lp"
    cli("export", "--host", srv.url, "--db", "k", "--out", out, env=env)
    assert sorted(l for l in out.read_text().splitlines() if l and not l.startswith("#")) == \
        ["m,s=a v=1 1700000000000000000", "m,s=b v=2 1700000000000000000"]
    # without the key: refused, and the message says so
    p = cli("query", "--host", srv.url, "--db", "k", "SELECT count(v) FROM m", check=False)
    assert p.returncode != 0 and "authentication required" in (p.stdout + p.stderr), p.stdout + p.stderr
    p = cli("export", "--host", srv.url, "--db", "k", "--out", out, check=False)
    assert p.returncode != 0
