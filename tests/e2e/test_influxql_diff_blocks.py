"""Differential selector tests over segment blocks: the selector cases of influxql_cases.py
(first, last, min, max, top, bottom) against a real InfluxDB 1.6.7 and a volta whose data was
flushed to segment files with small blocks (block_points = 16), so that whole blocks are answered
from their statistics, skipped, or read in part (ranges cutting blocks) — the paths of
query/select_agg.c that test_influxql_diff.py, whose data stays in the memtable, never takes.

Cases that write, set up or change data (SELECT INTO, DDL, DELETE) and known deviations
("differs") are left out; every other selector case must match.
"""
import os

import influxql_diff
from influxql_cases import CASES

SELECTORS = ("first(", "last(", "min(", "max(", "top(", "bottom(")
CHANGES = ("into ", "drop ", "delete ", "create ", "alter ")


def _selector_cases():
    out = []
    for c in CASES:
        q = c["q"].lower()
        if c.get("differs") or c.get("write") or c.get("setup"):
            continue
        if not any(s in q for s in SELECTORS) or any(s in q for s in CHANGES):
            continue
        out.append(c)
    return out


def test_selector_cases_well_chosen():
    cases = _selector_cases()
    assert len(cases) >= 20
    assert any("top(" in c["q"].lower() for c in cases)
    assert any("last(" in c["q"].lower() for c in cases)


def test_selectors_over_blocks(influxd_server, volta_server, tmp_path):
    cfg = os.path.join(str(tmp_path), "volta.toml")
    with open(cfg, "w") as f:
        f.write('[journal]\nfsync = "never"\n[engine]\nblock_points = 16\n')
    srv = volta_server("--config", cfg)
    batches = influxql_diff.dataset()
    influxql_diff.load(influxd_server.url, batches)
    influxql_diff.load(srv.url, batches)
    srv.stop()  # closing flushes the memtable: the restarted server reads segment files
    srv = volta_server("--config", cfg, data=srv.data)
    failures = []
    for c in _selector_cases():
        ref = influxql_diff.run_case(influxd_server.url, c)
        got = influxql_diff.run_case(srv.url, c)
        diff = influxql_diff.compare_case(c, ref, got)
        if diff is not None:
            failures.append("case %s\n  q: %s\n  %s\n  influx: %s\n  volta:  %s" % (
                c["id"], c["q"], diff, ref.text[:800], got.text[:800]))
    assert not failures, "\n".join(failures)
