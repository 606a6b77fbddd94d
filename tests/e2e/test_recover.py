"""`volta recover` end to end (the runbook's primary instance recovery), real processes:

- primary available (its server answers /health 200): a report, exit 0, nothing created;
- primary missing (server killed -9, data directory deleted): recovered from the newest backup of
  a repository, rolled forward through the later backups' archived journal, verified; a server
  on the recovered directory holds exactly the points of the last backup, and the report names
  the recovery source;
- primary failed (a segment block corrupted after a snapshot): the directory fails the offline
  verification; recovered from the snapshot in its catalog and rolled forward through its
  surviving journal, so every acknowledged point is back (RPO 0); the control plane (API-key
  free meta.db: the ledger, the backends) comes along;
- --dry-run changes nothing; nothing to recover from exits 1 naming where it looked.
"""
import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest

from conftest import volta_bin

BASE_NS = 1_700_000_000_000_000_000


def run(*args, check=None):
    p = subprocess.run([volta_bin()] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if check is not None:
        assert p.returncode == check, "exit %d (want %d)\nstdout: %s\nstderr: %s" % (
            p.returncode, check, p.stdout, p.stderr)
    return p


def http(url, data=None, method=None):
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def write(srv, db, start, end):
    lines = ["m,s=s%d v=%d %d" % (i % 3, i, BASE_NS + i * 1_000_000_000) for i in range(start, end)]
    status, body = http(srv.url + "/write?db=%s&precision=ns" % db, "\n".join(lines).encode(), "POST")
    assert status == 204, body


def create_db(srv, db):
    status, body = http(srv.url + "/query",
                        urllib.parse.urlencode({"q": "CREATE DATABASE %s" % db}).encode(), "POST")
    assert status == 200, body


def count_sum(srv, db):
    status, body = http(srv.url + "/query?" + urllib.parse.urlencode(
        {"db": db, "q": "SELECT count(v), sum(v) FROM m GROUP BY s"}))
    assert status == 200, body
    out = {}
    for s in json.loads(body)["results"][0].get("series", []):
        out[s["tags"]["s"]] = tuple(s["values"][0][1:3])
    return out


def expected(start, end):
    out = {}
    for i in range(start, end):
        k = "s%d" % (i % 3)
        c, s = out.get(k, (0, 0))
        out[k] = (c + 1, s + i)
    return out


@pytest.fixture(autouse=True)
def _needs_recover():
    if run("recover", "--help").returncode != 0:
        pytest.skip("this volta has no `recover` command")


def test_available_primary_gets_a_report(volta_server, tmp_path):
    srv = volta_server()
    p = run("recover", "--data", srv.data, "--host", srv.url, check=0)
    assert "primary available" in p.stdout and "/health 200" in p.stdout, p.stdout
    assert not os.path.exists(srv.data + "-recovery")
    p = run("recover", "--data", srv.data, "--host", srv.url, "--json", check=0)
    doc = json.loads(p.stdout)
    assert doc["primary"] == "available" and doc["recovered"] is False


def test_missing_primary_from_backups(volta_server, tmp_path):
    srv = volta_server(data=str(tmp_path / "primary"))
    create_db(srv, "db")
    repo = tmp_path / "repo"
    write(srv, "db", 0, 2000)
    run("backup", "--repo", repo, "--host", srv.url, check=0)
    write(srv, "db", 2000, 3000)
    run("backup", "--repo", repo, "--host", srv.url, check=0)
    write(srv, "db", 3000, 3500)  # after the last backup: lost with the instance
    data = srv.data
    srv.kill()
    shutil.rmtree(data)

    p = run("recover", "--data", data, "--repo", repo, "--dry-run", check=0)
    assert "primary missing" in p.stdout and "dry run" in p.stdout, p.stdout
    assert not os.path.exists(data + "-recovery")

    p = run("recover", "--data", data, "--repo", repo, "--json", check=0)
    doc = json.loads(p.stdout)
    assert doc["primary"] == "missing", doc
    assert doc["recovered"] is True and doc["restore"]["verified"] is True, doc
    assert doc["source"]["kind"] in ("full", "incremental"), doc
    assert doc["target"] == data + "-recovery"
    assert doc["control_plane_copied"] is False  # the meta.db went with the directory

    rec = volta_server(data=data + "-recovery")
    assert count_sum(rec, "db") == expected(0, 3000)


def corrupt_segment_after_snapshot(data, sid):
    """Flips a byte in the middle of an engine segment the snapshot does not link."""
    segdir = os.path.join(data, "engine", "seg")
    snap_inodes = set()
    for root, _dirs, files in os.walk(os.path.join(data, "snapshots", sid)):
        for f in files:
            snap_inodes.add(os.stat(os.path.join(root, f)).st_ino)
    segs = sorted(os.listdir(segdir))
    victims = [s for s in segs if s.endswith(".vseg")
               and os.stat(os.path.join(segdir, s)).st_ino not in snap_inodes]
    assert victims, "no segment written after the snapshot: %s" % segs
    path = os.path.join(segdir, victims[-1])
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0xFF]))


def failed_primary(volta_server, tmp_path, *serve_args):
    srv = volta_server(*serve_args, data=str(tmp_path / "primary"))
    create_db(srv, "db")
    write(srv, "db", 0, 3000)
    sid = run("snapshot", "create", "--host", srv.url, check=0).stdout.split()[0]
    write(srv, "db", 3000, 4500)
    srv.stop()  # a clean stop flushes the memtable: a segment the snapshot does not link
    corrupt_segment_after_snapshot(srv.data, sid)
    return srv.data, sid


def test_failed_primary_from_snapshot_and_surviving_journal(volta_server, tmp_path):
    # the default configuration trims the journal once the engine files hold its records, but
    # the newest snapshot holds it from its seq on: snapshot + journal reach the present
    data, sid = failed_primary(volta_server, tmp_path)

    p = run("recover", "--data", data, check=0)
    assert "primary failed" in p.stdout and ".vseg" in p.stdout, p.stdout
    assert "source: snapshot %s" % sid in p.stdout, p.stdout
    assert "verified: yes" in p.stdout, p.stdout
    assert "control plane copied" in p.stdout, p.stdout
    assert " 0 record(s) not recovered" in p.stdout, p.stdout

    rec = volta_server(data=data + "-recovery")
    assert count_sum(rec, "db") == expected(0, 4500)  # RPO 0: the journal had every record


def test_failed_primary_without_its_journal_says_what_may_be_missing(volta_server, tmp_path):
    data, sid = failed_primary(volta_server, tmp_path)
    shutil.rmtree(os.path.join(data, "journal"))  # the journal volume is lost too
    p = run("recover", "--data", data, "--json", check=0)
    doc = json.loads(p.stdout)
    assert doc["primary"] == "failed" and doc["recovered"] is True, doc
    assert doc["source"]["kind"] == "snapshot" and doc["source"]["id"] == sid, doc
    assert doc["primary_last_seq"] == 0 and doc["missing_records"] == 0, doc  # unknown, said so
    p = run("recover", "--data", data, "--to", tmp_path / "again", check=0)
    assert "could not be read to its end" in p.stdout, p.stdout
    rec = volta_server(data=data + "-recovery")
    assert count_sum(rec, "db") == expected(0, 3000)  # the snapshot's points, nothing invented


def test_missing_engine_recovers_from_backup_and_live_journal(volta_server, tmp_path):
    # the engine files are lost, the journal survives: the backup rolled forward through the
    # journal of the directory that took it (its catalog lists the backup) — RPO 0
    srv = volta_server(data=str(tmp_path / "primary"))
    create_db(srv, "db")
    repo = tmp_path / "repo"
    write(srv, "db", 0, 2000)
    run("backup", "--repo", repo, "--host", srv.url, check=0)
    write(srv, "db", 2000, 2600)
    data = srv.data
    srv.kill()
    shutil.rmtree(os.path.join(data, "engine"))
    p = run("recover", "--data", data, "--repo", repo, "--json", check=0)
    doc = json.loads(p.stdout)
    assert doc["primary"] == "failed" and doc["recovered"] is True, doc
    assert doc["source"]["kind"] == "full", doc
    assert doc["restore"]["replayed_records"] >= 1 and doc["missing_records"] == 0, doc
    rec = volta_server(data=data + "-recovery")
    assert count_sum(rec, "db") == expected(0, 2600)


def test_nothing_to_recover_from(tmp_path):
    data = tmp_path / "gone"
    p = run("recover", "--data", data, check=1)
    assert "nothing to recover from" in p.stderr, p.stderr
    p = run("recover", check=2)
    assert "--data" in p.stderr
