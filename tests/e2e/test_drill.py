"""`volta drill` end to end: every scenario runs against real processes (volta servers, a real
InfluxDB 1.6.7 backup where installed), with short workloads, and must pass with RPO 0; the
reports are written in Markdown and JSON; a drill whose environment cannot be built fails
(exit 1) and says why; bad usage exits 2."""
import json
import subprocess

import pytest

from conftest import volta_bin


def run(*args, timeout=600):
    return subprocess.run([volta_bin()] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


@pytest.fixture(autouse=True)
def _needs_drill():
    if run("drill", "--help").returncode != 0:
        pytest.skip("this volta has no `drill` command")


def test_every_scenario_passes_with_rpo_zero(tmp_path):
    md, js = tmp_path / "drill.md", tmp_path / "drill.json"
    p = run("drill", "--report", md, "--json", js, "--load-seconds", "1.5",
            "--after-seconds", "1", "--workdir", tmp_path / "work", "--quiet")
    doc = json.loads(js.read_text())
    names = [s["name"] for s in doc["scenarios"]]
    assert {"primary-killed", "backup-down-during-ingest", "instance-lost", "bad-backup",
            "primary-corrupted", "slow-primary", "rollback-interrupted"} <= set(names), names
    for s in doc["scenarios"]:
        assert s["passed"], json.dumps(s, indent=1)
        assert s["rpo_points_lost"] == 0, s
        assert s["acknowledged"] > 0, s
        assert s["rto_seconds"] is not None and s["rto_seconds"] >= 0, s
        assert all(c["ok"] for c in s["checks"]), s["checks"]
    assert p.returncode == 0, p.stderr
    text = md.read_text()
    assert "# volta drill report" in text and "| primary-killed | PASS |" in text, text
    killed = next(s for s in doc["scenarios"] if s["name"] == "primary-killed")
    assert any("kill -9" in st["step"] for st in killed["steps"]), killed["steps"]
    bad = next(s for s in doc["scenarios"] if s["name"] == "bad-backup")
    assert {c["name"] for c in bad["checks"]} >= {"verify_detects", "restore_refuses"}
    backup = next(s for s in doc["scenarios"] if s["name"] == "backup-down-during-ingest")
    assert backup["rpo_points_lost_backup"] == 0, backup
    corrupted = next(s for s in doc["scenarios"] if s["name"] == "primary-corrupted")
    assert {c["name"] for c in corrupted["checks"]} >= {"detected", "not_served", "repaired"}
    slow = next(s for s in doc["scenarios"] if s["name"] == "slow-primary")
    assert {c["name"] for c in slow["checks"]} >= {"rolled_back", "latency_trigger", "volta_validate"}
    resumed = next(s for s in doc["scenarios"] if s["name"] == "rollback-interrupted")
    assert any(st["status"] == 137 for st in resumed["steps"]), resumed["steps"]  # really killed


def test_a_drill_that_cannot_build_its_environment_fails(tmp_path):
    js = tmp_path / "d.json"
    p = run("drill", "--scenario", "backup-down-during-ingest", "--influxd", "/bin/false",
            "--json", js, "--load-seconds", "0.5", "--after-seconds", "0.5", "--quiet")
    assert p.returncode == 1, p.stdout + p.stderr
    s = json.loads(js.read_text())["scenarios"][0]
    # the drill watches the process it started: /bin/false's exit is the reason it names, and
    # no other server that may answer on the chosen port later is taken for it
    assert s["passed"] is False, s
    assert "influxd did not start: it exited with status 1 before answering /ping" in s["error"], s
    assert "| backup-down-during-ingest | FAIL |" in p.stdout


def test_bad_usage():
    p = run("drill", "--scenario", "meteor-strike")
    assert p.returncode == 2 and "unknown scenario 'meteor-strike'" in p.stderr, p.stderr
    assert "primary-killed" in p.stderr
    assert run("drill", "--load-seconds", "x").returncode == 2
