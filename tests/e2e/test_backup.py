"""`volta backup` end to end, against the real binary and a running server.

- `volta backup --repo R --host URL` takes a full backup on the running server, then an
  incremental one after more writes (fewer new files than files); both listed by
  `volta backup list` (text and --json) and GET /api/v1/backups (?repo= and the catalog);
- `volta backup verify` passes; `volta backup expire --keep 1` asks (no terminal: deletes
  nothing, exit 1), then with --yes deletes the older backups and the objects only they held;
  what remains verifies, and (when `volta restore` exists) restores to a directory a server
  then serves with exactly the points written before it;
- one flipped bit in an object: verify exits 1 naming the object, the backup id and the path;
- bad usage exits 2.
"""
import glob
import json
import os
import subprocess
import urllib.parse
import urllib.request

import pytest

from conftest import volta_bin

BASE_NS = 1_700_000_000_000_000_000


def run(*args, check=None):
    p = subprocess.run([volta_bin()] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if check is not None:
        assert p.returncode == check, "exit %d (want %d)\nstdout: %s\nstderr: %s" % (
            p.returncode, check, p.stdout, p.stderr)
    return p


@pytest.fixture(autouse=True)
def _needs_backup_command():
    if run("backup", "--help").returncode != 0:
        pytest.skip("this volta has no `backup` command registered (main.c)")


def http(url, data=None, method=None):
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def write(srv, lines):
    status, body = http(srv.url + "/write?db=db&precision=ns", "\n".join(lines).encode(), "POST")
    assert status == 204, body


def count(srv):
    status, body = http(srv.url + "/query?" + urllib.parse.urlencode(
        {"db": "db", "q": "SELECT count(v), sum(v) FROM m"}))
    assert status == 200, body
    series = json.loads(body)["results"][0].get("series", [])
    return tuple(series[0]["values"][0][1:3]) if series else (0, 0)


def points(start, end):
    return ["m,s=s%d v=%d %d" % (i % 3, i, BASE_NS + i * 1_000_000_000) for i in range(start, end)]


def objects(repo):
    return sorted(p for p in glob.glob(os.path.join(repo, "objects", "*", "*"))
                  if not p.endswith(".tmp"))


SMALL = """[journal]
segment_bytes = 16384
[engine]
memtable_bytes = 65536
compact_trigger = 6
"""


def test_backup_list_verify_expire(volta_server, tmp_path):
    # small journal segments and memtable, eager compaction: every backup sees other files
    cfg = tmp_path / "volta.toml"
    cfg.write_text(SMALL)
    srv = volta_server("--config", str(cfg), "--no-landing")
    status, body = http(srv.url + "/query", urllib.parse.urlencode(
        {"q": "CREATE DATABASE db"}).encode(), "POST")
    assert status == 200, body
    for k in range(10):
        write(srv, points(k * 1000, (k + 1) * 1000))
    repo = str(tmp_path / "repo")

    p = run("backup", "--repo", repo, "--host", srv.url, check=0)
    assert "(full)" in p.stdout and "MB/s" in p.stdout, p.stdout
    first = count(srv)

    write(srv, points(10000, 10500))
    p = run("backup", "create", "--repo", repo, "--host", srv.url, check=0)
    assert "(incremental)" in p.stdout, p.stdout

    rows = [json.loads(l) for l in run("backup", "list", "--repo", repo, "--json",
                                       check=0).stdout.splitlines()]
    assert [r["kind"] for r in rows] == ["full", "incremental"]
    assert rows[1]["parent"] == rows[0]["id"]
    assert 0 < rows[1]["new_files"] < rows[1]["files"]
    assert rows[0]["new_files"] == rows[0]["files"]
    assert rows[1]["seq"] > rows[0]["seq"]
    for r in rows:
        assert len(r["id"]) >= 15 and r["id"][8] == "_"
    text = run("backup", "list", "--repo", repo, check=0).stdout
    assert rows[0]["id"] in text and rows[1]["id"] in text

    status, body = http(srv.url + "/api/v1/backups?" + urllib.parse.urlencode({"repo": repo}))
    assert status == 200, body
    assert [b["id"] for b in json.loads(body)["backups"]] == [r["id"] for r in rows]
    status, body = http(srv.url + "/api/v1/backups")
    assert status == 200, body
    assert sorted(b["id"] for b in json.loads(body)["backups"]) == sorted(r["id"] for r in rows)
    status, body = http(srv.url + "/api/v1/backups", b"", "POST")
    assert status == 400, body

    p = run("backup", "verify", "--repo", repo, check=0)
    assert "OK" in p.stdout and "2 backup(s)" in p.stdout, p.stdout

    # more data (compactions replace old segments), a third, full backup; expire --keep 1
    # keeps only it
    for k in range(11, 25):
        write(srv, points(k * 1000, (k + 1) * 1000))
    p = run("backup", "--repo", repo, "--host", srv.url, "--full", check=0)
    assert "(full)" in p.stdout
    final = count(srv)
    before = objects(repo)
    p = run("backup", "expire", "--repo", repo, "--keep", "1", check=1)
    assert "would expire %s" % rows[0]["id"] in p.stdout, p.stdout
    assert "nothing deleted" in p.stderr
    assert objects(repo) == before
    p = run("backup", "expire", "--repo", repo, "--keep", "1", "--yes", check=0)
    assert "expired 2 backup(s)" in p.stdout, p.stdout
    left = [json.loads(l) for l in run("backup", "list", "--repo", repo, "--json",
                                       check=0).stdout.splitlines()]
    assert len(left) == 1 and left[0]["kind"] == "full"
    after = objects(repo)
    assert len(after) < len(before)
    with open(os.path.join(repo, "backups", left[0]["id"], "MANIFEST.json")) as f:
        man = json.load(f)
    assert sorted({f["hash"] for f in man["files"]}) == sorted(os.path.basename(o) for o in after)
    run("backup", "verify", "--repo", repo, check=0)
    # the catalog of the server lost the expired rows
    status, body = http(srv.url + "/api/v1/backups")
    assert [b["id"] for b in json.loads(body)["backups"]] == [left[0]["id"]]

    # restore (the other half of the feature, when present)
    if run("restore", "--help").returncode == 0:
        to = str(tmp_path / "restored")
        run("restore", left[0]["id"], "--repo", repo, "--to", to, check=0)
        srv2 = volta_server(data=to)
        assert count(srv2) == final
        srv2.stop()
    assert first[0] == 10000 and final[0] == 24500

    # one flipped bit: verify names the object, the backup and the path
    seg = next(f for f in man["files"] if f["path"].startswith("engine/seg/"))
    obj = os.path.join(repo, "objects", seg["hash"][:2], seg["hash"])
    with open(obj, "r+b") as f:
        f.seek(seg["size"] // 2)
        b = f.read(1)
        f.seek(seg["size"] // 2)
        f.write(bytes([b[0] ^ 0x01]))
    p = run("backup", "verify", "--repo", repo, check=1)
    assert left[0]["id"] in p.stderr and seg["path"] in p.stderr and obj in p.stderr, p.stderr


def test_backup_offline_and_usage(volta_server, tmp_path):
    srv = volta_server("--no-landing")
    status, body = http(srv.url + "/query", urllib.parse.urlencode(
        {"q": "CREATE DATABASE db"}).encode(), "POST")
    assert status == 200, body
    write(srv, points(0, 500))
    srv.stop()
    repo = str(tmp_path / "repo")
    p = run("backup", "--repo", repo, "--data", srv.data, check=0)
    assert "(full)" in p.stdout and "500" not in p.stderr
    p = run("backup", "--repo", repo, "--data", srv.data, check=0)
    assert "(incremental)" in p.stdout, p.stdout
    run("backup", "list", check=2)
    run("backup", "frobnicate", "--repo", repo, check=2)
    run("backup", "expire", "--repo", repo, check=2)
    run("backup", "list", "--repo", repo, "--host", "x", "--data", "y", check=0)
    run("backup", "--repo", repo, "--host", "x", "--data", "y", check=2)
    run("backup", "verify", "--repo", repo, "20990101_000000", check=1)
