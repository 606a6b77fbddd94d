"""`volta restore` end to end, against the real binary and a running server.

- a snapshot taken on a running server (`volta snapshot create --host`) restored with
  `volta restore ID --data DIR --to NEW` holds exactly the points written before it (checked by
  a server started on NEW), prints files/bytes/seconds and "verified";
- a non-empty target is refused (exit 1) without --replace; --replace without a terminal needs
  --yes (exit 2); --replace --yes keeps the old directory as NEW.replaced-<time>, and is refused
  while a server runs on NEW;
- --to-db writes the restored points into a live server: under a new database name, and into an
  existing database (merge: its other points stay, an overlapping point takes the restored value);
- bad usage exits 2.
"""
import glob
import os
import subprocess
import urllib.parse
import urllib.request

import pytest

from conftest import volta_bin

BASE_NS = 1_700_000_000_000_000_000


def run(*args, check=None, stdin=subprocess.DEVNULL):
    p = subprocess.run([volta_bin()] + [str(a) for a in args], stdin=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if check is not None:
        assert p.returncode == check, "exit %d (want %d)\nstdout: %s\nstderr: %s" % (
            p.returncode, check, p.stdout, p.stderr)
    return p


@pytest.fixture(autouse=True)
def _needs_restore_command():
    p = run("restore", "--help")
    if p.returncode != 0:
        pytest.skip("this volta has no `restore` command registered (main.c)")


def http(url, data=None, method=None):
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def query(srv, db, q):
    status, body = http(srv.url + "/query?" + urllib.parse.urlencode({"db": db, "q": q}))
    assert status == 200, body
    import json
    return json.loads(body)


def write(srv, db, lines):
    status, body = http(srv.url + "/write?db=%s&precision=ns" % db, "\n".join(lines).encode(), "POST")
    assert status == 204, body


def create_db(srv, db):
    status, body = http(srv.url + "/query", urllib.parse.urlencode({"q": "CREATE DATABASE %s" % db}).encode(), "POST")
    assert status == 200, body


def count_sum(srv, db):
    """{series s: (count, sum)} of measurement m."""
    doc = query(srv, db, "SELECT count(v), sum(v) FROM m GROUP BY s")
    out = {}
    for s in doc["results"][0].get("series", []):
        row = s["values"][0]
        out[s["tags"]["s"]] = (row[1], row[2])
    return out


def points(start, end):
    return ["m,s=s%d v=%d %d" % (i % 3, i, BASE_NS + i * 1_000_000_000) for i in range(start, end)]


def expected(start, end, extra=None):
    out = dict(extra or {})
    for i in range(start, end):
        k = "s%d" % (i % 3)
        c, s = out.get(k, (0, 0))
        out[k] = (c + 1, s + i)
    return out


def snapshot(srv):
    p = run("snapshot", "create", "--host", srv.url, check=0)
    return p.stdout.split()[0]


def test_restore_snapshot_to_new_dir_and_replace(volta_server, tmp_path):
    srv = volta_server()
    create_db(srv, "src")
    write(srv, "src", points(0, 3000))
    sid = snapshot(srv)
    write(srv, "src", points(3000, 4000))  # after the snapshot: not restored

    new = tmp_path / "restored"
    p = run("restore", sid, "--data", srv.data, "--to", new, "--threads", 3, check=0)
    assert "verified" in p.stdout and "files" in p.stdout and "bytes" in p.stdout, p.stdout
    assert " s (" in p.stdout and "MB/s" in p.stdout, p.stdout

    other = volta_server(data=str(new))
    assert count_sum(other, "src") == expected(0, 3000)
    # never moved aside under a running server
    p = run("restore", sid, "--data", srv.data, "--to", new, "--replace", "--yes", check=1)
    assert "in use" in p.stderr
    other.stop()

    # a non-empty target: refused, untouched
    p = run("restore", sid, "--data", srv.data, "--to", new, check=1)
    assert "not empty" in p.stderr
    # --replace without a terminal wants --yes
    p = run("restore", sid, "--data", srv.data, "--to", new, "--replace", check=2)
    assert "--yes" in p.stderr
    (new / "marker").write_text("old")
    p = run("restore", sid, "--data", srv.data, "--to", new, "--replace", "--yes", check=0)
    aside = glob.glob(str(new) + ".replaced-*")
    assert len(aside) == 1, p.stdout
    assert os.path.exists(os.path.join(aside[0], "marker"))
    assert not (new / "marker").exists()
    assert "kept as" in p.stdout


def test_restore_into_live_server_new_name_and_merge(volta_server):
    srv = volta_server()
    create_db(srv, "src")
    write(srv, "src", points(0, 2500))
    sid = snapshot(srv)
    write(srv, "src", points(2500, 2600))

    # under a new database name
    p = run("restore", sid, "--data", srv.data, "--to-db", "src_restored", "--host", srv.url,
            "--batch", 700, check=0)
    assert "restored 2500 points into database src_restored" in p.stdout, p.stdout
    assert count_sum(srv, "src_restored") == expected(0, 2500)
    assert count_sum(srv, "src") == expected(0, 2600)  # the live database is untouched

    # into an existing database: merged (its own series stay; an overlapping point is replaced)
    create_db(srv, "existing")
    write(srv, "existing", ["other,s=x v=1 %d" % BASE_NS,
                            "m,s=s0 v=999999 %d" % BASE_NS])  # same series and time as i=0
    run("restore", sid, "--data", srv.data, "--to-db", "existing", "--db", "src",
        "--host", srv.url, check=0)
    assert count_sum(srv, "existing") == expected(0, 2500)
    doc = query(srv, "existing", "SELECT count(v) FROM other")
    assert doc["results"][0]["series"][0]["values"][0][1] == 1


def test_usage_errors(tmp_path):
    run("restore", "x", check=2)                                   # no source
    run("restore", "x", "--repo", tmp_path, "--data", tmp_path, check=2)  # two sources
    run("restore", "x", "--data", tmp_path, "--replace", check=2)  # --replace without --to
    run("restore", "x", "--data", tmp_path, "--until", "yesterday-ish", check=2)
    p = run("restore", "nope", "--data", tmp_path, "--to", tmp_path / "t", check=1)
    assert "meta.db" in p.stderr or "not found" in p.stderr
