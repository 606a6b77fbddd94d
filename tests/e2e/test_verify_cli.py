"""
`volta verify` and `volta export` on real data directories: a clean directory verifies with exit 0;
a flipped byte in a segment block or in the middle of the journal is reported with the file and
byte offset and exit 1; a read that reaches a corrupt block fails naming file and block (never
returns wrong data); and the data written through the demo loader can be read back.
"""
import glob
import os
import subprocess

from conftest import volta_bin


def run(*args, **kw):
    return subprocess.run([volta_bin(), *args], capture_output=True, text=True, timeout=300, **kw)


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x5A]))


def make_demo_dir(volta_server, days=2):
    srv = volta_server("--demo=%d" % days)
    srv.stop()
    return srv.data


def test_verify_clean_and_export_counts(volta_server):
    data = make_demo_dir(volta_server)
    v = run("verify", data)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "0 problems" in v.stdout
    segs = glob.glob(os.path.join(data, "engine", "seg", "*.vseg"))
    assert segs, "a clean shutdown flushes the memtable into segment files"
    out = run("export", "--data", data, "--db", "ons")
    assert out.returncode == 0, out.stderr
    lines = [l for l in out.stdout.splitlines() if l and not l.startswith("#")]
    # 2 days x 24 hours x (500 plants + 4 load + 4 interchange)
    assert len(lines) == 2 * 24 * 508
    gen = run("gen", "--days", "2", "--plants", "500")
    assert gen.returncode == 0
    def parsed(text_lines):
        # (series key, field, value as a float, timestamp): formatting may differ (56.730 vs 56.73)
        out = []
        for l in text_lines:
            series, field, ts = l.rsplit(" ", 2)
            key, value = field.split("=")
            out.append((series, key, float(value), int(ts)))
        return sorted(out)

    assert parsed(lines) == parsed(gen.stdout.splitlines()), \
        "export must give back exactly what volta gen produced"

    # --start/--end select by time (inclusive): the second day only
    first = min(p[3] for p in parsed(lines))
    day2 = run("export", "--data", data, "--db", "ons", "--start", str(first + 24 * 3600 * 10**9),
               "--end", str(first + 48 * 3600 * 10**9 - 1))
    assert day2.returncode == 0, day2.stderr
    got = [l for l in day2.stdout.splitlines() if l and not l.startswith("#")]
    assert len(got) == 24 * 508


def test_verify_reports_corrupt_segment_block(volta_server):
    data = make_demo_dir(volta_server)
    seg = sorted(glob.glob(os.path.join(data, "engine", "seg", "*.vseg")))[0]
    flip_byte(seg, 200)  # inside the first blocks (the header is 16 bytes)
    v = run("verify", data)
    assert v.returncode == 1, v.stdout
    problems = [l for l in v.stdout.splitlines() if l.startswith(seg)]
    assert problems, v.stdout
    assert "offset" in problems[0]
    out = run("export", "--data", data, "--db", "ons")
    assert out.returncode != 0
    assert os.path.basename(seg) in out.stderr and "block" in out.stderr, out.stderr


def test_verify_reports_corrupt_journal_record(volta_server, tmp_path):
    cfg = tmp_path / "volta.toml"
    cfg.write_text("[journal]\ntrim = false\n")
    srv = volta_server("--demo=1", "--config", str(cfg))
    srv.stop()
    segs = sorted(glob.glob(os.path.join(srv.data, "journal", "*.vjl")))
    assert segs
    size = os.path.getsize(segs[0])
    flip_byte(segs[0], size // 2)
    v = run("verify", srv.data)
    assert v.returncode == 1, v.stdout
    assert any(l.startswith(segs[0]) and "offset" in l for l in v.stdout.splitlines()), v.stdout
    assert "1 problem" in v.stdout


def test_verify_usage_errors():
    assert run("verify").returncode == 2
    assert run("verify", "/nonexistent/volta-dir").returncode == 2
    bad = run("export", "--data", "/nonexistent/volta-dir", "--start", "yesterday")
    assert bad.returncode == 2 and "--start" in bad.stderr
    h = run("verify", "--help")
    assert h.returncode == 0 and "usage: volta verify" in h.stdout
