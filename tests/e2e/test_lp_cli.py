"""End-to-end tests of `volta lp parse` (the line-protocol parser behind the CLI).

Runs "$VOLTA_BIN lp parse" on hand-written inputs and on a deterministic sample of ~200 cases of
the line-protocol conformance corpus (../shared/data/lp-corpus/corpus.json; skipped when absent),
comparing the parsed JSON output.
"""
import base64
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

VOLTA_BIN = os.environ.get("VOLTA_BIN")
SOURCE_DIR = Path(os.environ.get("VOLTA_SOURCE_DIR", Path(__file__).resolve().parents[2]))
CORPUS = SOURCE_DIR.parent / "shared" / "data" / "lp-corpus" / "corpus.json"

pytestmark = pytest.mark.skipif(not VOLTA_BIN, reason="VOLTA_BIN is not set")

PRECISIONS = {"1ns": "ns", "1µs": "us", "1ms": "ms", "1s": "s", "1m": "m", "1h": "h"}


def run_lp(data, *args):
    if isinstance(data, str):
        data = data.encode()
    proc = subprocess.run([VOLTA_BIN, "lp", "parse", *args], input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")


def parse_ok(data, *args):
    rc, out, err = run_lp(data, *args)
    assert rc == 0, (out, err)
    assert out.endswith("\n")
    return json.loads(out)["result"]


def normalize(points):
    """Floats compared as floats (the corpus writes 1.0 as 1)."""
    norm = []
    for p in points:
        fields = []
        for f in p["fields"]:
            ((kind, v),) = f["value"].items()
            if kind == "float":
                v = float(v)
            fields.append((f["key"], kind, v))
        norm.append({"time": p["time"], "name": p["name"],
                     "tags": [(t["key"], t["value"]) for t in p["tags"]], "fields": fields})
    return norm


def test_help_and_usage():
    for args in (["lp", "--help"], ["lp", "parse", "--help"]):
        proc = subprocess.run([VOLTA_BIN, *args], stdout=subprocess.PIPE, timeout=30)
        assert proc.returncode == 0
        assert b"volta lp parse" in proc.stdout
    proc = subprocess.run([VOLTA_BIN, "lp", "parse", "--precision", "weeks"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)
    assert proc.returncode == 2
    assert b"usage" in proc.stderr


def test_all_types_and_escapes():
    body = ('cpu\\ load,zone=b\\,c,host=a\\ b\\=1 '
            'f=1.5,i=-2i,u=18446744073709551615u,b=F,s="q\\"uo\\\\te" 1700000000000000001\n')
    (p,) = parse_ok(body)
    assert p == {
        "time": 1700000000000000001, "name": "cpu load",
        "tags": [{"key": "host", "value": "a b=1"}, {"key": "zone", "value": "b,c"}],
        "fields": [{"key": "f", "value": {"float": 1.5}}, {"key": "i", "value": {"int": -2}},
                   {"key": "u", "value": {"uint": 18446744073709551615}},
                   {"key": "b", "value": {"bool": False}},
                   {"key": "s", "value": {"string": 'q"uo\\te'}}],
    }


def test_json_escaping_and_utf8():
    rc, out, _ = run_lp('m,t=a\x01b s="line1\nline2\ttab é 😀" 5'.encode())
    assert rc == 0
    assert "\\u0001" in out and "\\u000a" in out and "\\u0009" in out
    assert "é 😀" in out  # UTF-8 passes through unescaped
    (p,) = json.loads(out)["result"]
    assert p["tags"][0]["value"] == "a\x01b"
    assert p["fields"][0]["value"]["string"] == "line1\nline2\ttab é 😀"


def test_floats_shortest_round_trip():
    rc, out, _ = run_lp("m a=0.1,b=100,c=1e21,d=-0,e=5e-324,f=0.30000000000000004 1\n")
    assert rc == 0
    assert '"float":0.1}' in out and '"float":100}' in out and '"float":1e+21}' in out
    (p,) = json.loads(out)["result"]
    vals = [f["value"]["float"] for f in p["fields"]]
    assert vals[0] == 0.1 and vals[2] == 1e21 and vals[4] == 5e-324
    assert '"float":-0}' in out  # negative zero keeps its sign
    assert vals[5] == 0.30000000000000004


def test_precision_and_default_time():
    (p,) = parse_ok("m v=1 1700000000\n", "--precision", "s")
    assert p["time"] == 1700000000 * 10**9
    (p,) = parse_ok("m v=1\n", "--precision", "ms", "--default-time", "1234567891")
    assert p["time"] == 1234000000
    before = time.time_ns()
    (p,) = parse_ok("m v=1\n")
    after = time.time_ns()
    assert before <= p["time"] <= after


def test_comments_crlf_and_empty():
    assert parse_ok("# only a comment\r\n\r\n") == []
    assert parse_ok("") == []
    pts = parse_ok("a v=1 1\r\n# x\r\nb v=2 2\r\n")
    assert [p["name"] for p in pts] == ["a", "b"]


def test_error_line_and_column():
    rc, out, _ = run_lp("ok v=1\n\nbad,x v=1\nok v=2\n")
    assert rc == 1
    e = json.loads(out)
    assert set(e) == {"error", "line", "column"}
    assert (e["line"], e["column"]) == (3, 6)
    rc, out, _ = run_lp("m v=1 1\nm v=nope 2\n")
    assert rc == 1
    e = json.loads(out)
    assert (e["line"], e["column"]) == (2, 5)
    assert "invalid field value" in e["error"]


def corpus_sample():
    if not CORPUS.exists():
        return []
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))["decode"]
    keys = sorted(corpus)
    results = [k for k in keys if "result" in corpus[k]["output"]]
    errors = [k for k in keys if "error" in corpus[k]["output"]]
    picked = results[::3] + errors[::125]  # ~130 results + ~50 errors
    picked += [k for k in keys if corpus[k]["input"]["precision"] != "1ns"
               or "about" in corpus[k]["input"]]
    return [(k, corpus[k]) for k in sorted(set(picked))]


SAMPLE = corpus_sample()


@pytest.mark.skipif(not SAMPLE, reason=f"line-protocol corpus not found at {CORPUS}")
def test_corpus_sample():
    assert len(SAMPLE) >= 180
    failures = []
    for key, case in SAMPLE:
        inp = case["input"]
        text = inp["text"]
        data = base64.b64decode(text["binary"]) if isinstance(text, dict) else text.encode()
        rc, out, err = run_lp(data, "--precision", PRECISIONS[inp["precision"]],
                              "--default-time", str(inp["defaultTime"]))
        got = json.loads(out) if out else {}
        if "error" in case["output"]:
            if rc != 1 or "error" not in got or got["line"] < 1 or got["column"] < 1:
                failures.append((key, "expected an error", out))
        elif rc != 0 or normalize(got.get("result", [])) != normalize(case["output"]["result"]):
            failures.append((key, "result differs", out, err))
    print(f"corpus sample: {len(SAMPLE) - len(failures)} of {len(SAMPLE)} cases passed")
    assert not failures, failures[:5]
