"""End-to-end tests of `volta check` / POST /api/v1/check (docs/CHECK.md).

A real `volta serve` with a native backup backend: ONS data loaded through the ledger passes
every check online; 200 zero loads fail valores_nulos above the tolerance (and pass with
tolerance=1000); a point written to the backup directory alone (the backup served on its own
while the primary is down) fails backends_consistentes listing the series and hour. When the
binary registers the `check` command, the same through the CLI (--host, and offline --data with
a bit flip in a segment file).
"""
import os
import subprocess

import pytest
import requests

from conftest import volta_bin

SHARED = os.environ.get("VOLTA_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
SAMPLE = os.path.join(SHARED, "ons", "curva_carga_2024_sample.csv")


def write_config(tmp_path, text):
    p = tmp_path / "volta.toml"
    p.write_text(text)
    return str(p)


def check(srv, **params):
    r = requests.post(srv.url + "/api/v1/check", params=params, timeout=120)
    assert r.status_code == 200, r.text
    doc = r.json()
    return doc, {c["name"]: c for c in doc["checks"]}


def cli_has_check():
    r = subprocess.run([volta_bin(), "check", "--help"], capture_output=True, text=True)
    return r.returncode == 0 and "timestamps_duplicados" in r.stdout


@pytest.fixture
def primary_with_backup(tmp_path, tmp_path_factory, volta_server):
    if not os.path.exists(SAMPLE):
        pytest.skip("ONS sample absent: %s" % SAMPLE)
    bdir = str(tmp_path_factory.mktemp("volta-check-backup"))
    cfg = write_config(tmp_path, '[backend.bk]\ntype = "native"\npath = "%s"\n' % bdir)
    srv = volta_server("--config", cfg, "--no-landing")
    r = requests.post(srv.url + "/api/v1/load", json={"paths": [os.path.abspath(SAMPLE)], "db": "ons"}, timeout=60)
    assert r.status_code == 200, r.text
    return srv, bdir, cfg


def test_online_healthy_then_zeros(primary_with_backup):
    srv, _, _ = primary_with_backup
    doc, by = check(srv, window="all")
    assert [c["name"] for c in doc["checks"]] == [
        "checksums", "timestamps_duplicados", "valores_nulos", "consistencia_dados", "backends_consistentes"]
    for c in doc["checks"]:
        assert c["status"] == "PASS", c
    assert doc["exit_code"] == 0
    assert "1 backup" in by["backends_consistentes"]["details"]
    # the last 24 h hold no ledger file: consistencia_dados cannot judge (no placeholder count)
    _, by = check(srv)
    assert by["consistencia_dados"]["status"] == "ERROR"
    assert "no ledger data in the window" in by["consistencia_dados"]["details"]
    # 200 zero loads, consecutive hours before the file's data
    t0 = 1704078000 * 10**9
    lines = "\n".join("load,subsystem=ZZ value=0 %d" % (t0 - (200 - i) * 3600 * 10**9) for i in range(200))
    r = requests.post(srv.url + "/write", params={"db": "ons"}, data=lines, timeout=30)
    assert r.status_code == 204, r.text
    doc, by = check(srv, window="all", checks="valores_nulos")
    assert by["valores_nulos"]["status"] == "FAIL", by
    assert doc["exit_code"] == 1
    assert any("load,subsystem=ZZ value" in i and "200 zero(s)" in i for i in by["valores_nulos"]["items"])
    _, by = check(srv, window="all", checks="valores_nulos", tolerance="1000")
    assert by["valores_nulos"]["status"] == "PASS", by
    r = requests.post(srv.url + "/api/v1/check", params={"checks": "nope"}, timeout=30)
    assert r.status_code == 400 and "nope" in r.json()["error"]
    if cli_has_check():
        p = subprocess.run([volta_bin(), "check", "--host", srv.url, "--window", "all",
                            "--checks", "valores_nulos"], capture_output=True, text=True)
        assert p.returncode == 1, p.stdout + p.stderr
        assert "✗ valores_nulos: FALHA - " in p.stdout
        assert "0 passed, 1 failed, 0 errors" in p.stdout


def test_backup_divergence(primary_with_backup, volta_server):
    srv, bdir, _ = primary_with_backup
    _, by = check(srv, window="all", checks="backends_consistentes")
    assert by["backends_consistentes"]["status"] == "PASS", by
    data = srv.data
    srv.stop()
    # the backup directory served alone gets a write the primary never saw
    b = volta_server("--no-landing", data=bdir)
    r = requests.post(b.url + "/write", params={"db": "ons"},
                      data="load,subsystem=N value=1 1704081600000000000", timeout=30)
    assert r.status_code == 204, r.text
    b.stop()
    cfg = os.path.join(os.path.dirname(data), "check-again.toml")
    with open(cfg, "w") as f:
        f.write('[backend.bk]\ntype = "native"\npath = "%s"\n' % bdir)
    srv2 = volta_server("--config", cfg, "--no-landing", data=data)
    doc, by = check(srv2, start="2024-01-01T00:00:00Z", end="2024-01-02T00:00:00Z", checks="backends_consistentes")
    c = by["backends_consistentes"]
    assert c["status"] == "FAIL", c
    assert doc["exit_code"] == 1
    assert any(i.startswith("bk: load,subsystem=N 2024-01-01T04:00:00Z:") and "sum_value" in i for i in c["items"]), c
    assert c["items_total"] == 1


def test_offline_bit_flip(primary_with_backup):
    srv, _, _ = primary_with_backup
    if not cli_has_check():
        pytest.skip("this volta binary does not register the check command yet")
    srv.stop()
    seg_dir = os.path.join(srv.data, "engine", "seg")
    segs = sorted(f for f in os.listdir(seg_dir) if f.endswith(".vseg"))
    assert segs
    path = os.path.join(seg_dir, segs[0])
    with open(path, "r+b") as f:
        f.seek(24)
        b = f.read(1)
        f.seek(24)
        f.write(bytes([b[0] ^ 0x10]))
    p = subprocess.run([volta_bin(), "check", "--data", srv.data, "--checks", "checksums"],
                       capture_output=True, text=True)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "✗ checksums: FALHA - " in p.stdout
    assert segs[0] in p.stdout and "block 0" in p.stdout
