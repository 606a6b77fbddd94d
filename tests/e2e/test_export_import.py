"""
`volta export` / `volta import` and GET /api/v1/export: line protocol and the runbook's JSON
({"data":[...],"data_count":N}), gzip or not, files or stdin/stdout, offline (--data) and through
a server (--host). Round trips of every field type and of names needing escapes, filters,
data_count mismatches, batches of 1000 seen in the server's /metrics, and a 500k-point export /
import whose peak RSS does not grow with the data.
"""
import gzip
import json
import os
import re
import subprocess

import requests

from conftest import volta_bin

# every field type, edge values, names that need escapes (measurement, tag keys and values)
ALL_TYPES = (
    'm\\ 1,t\\,k=a\\ b\\=c,z=\u00fc f=1,i=-9223372036854775808i,u=18446744073709551615u,b=true,'
    's="q\\"uo\\\\te\nnl \u20ac" 1704067200000000000\n'
    'm\\ 1,t\\,k=a\\ b\\=c,z=\u00fc f=-0.5,i=9223372036854775807i,u=0u,b=false,s="" 1704067201000000000\n'
    'm\\ 1,t\\,k=a\\ b\\=c,z=\u00fc f=1e-7 1704067202000000000\n'
    'm\\ 1,t\\,k=a\\ b\\=c,z=\u00fc f=1e21,u=5u 1704067203000000000\n'
    'm\\ 1,t\\,k=a\\ b\\=c,z=\u00fc f=-3 1704067204000000000\n'
    'cpu,host=h1 v=1.5 1704067200000000000\n'
    'cpu,host=h2 v=2.5,n=3i 1704070800000000000\n'
)
N_ALL = 7


def run(*args, input=None, env=None, check=True):
    full_env = dict(os.environ)
    full_env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    if env:
        full_env.update(env)
    p = subprocess.run([volta_bin(), *[str(a) for a in args]], input=input, capture_output=True,
                       timeout=900, env=full_env)
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stderr.decode(errors="replace"))
    return p


def write(srv, db, body):
    requests.post(srv.url + "/query", data={"q": 'CREATE DATABASE "%s"' % db}).raise_for_status()
    r = requests.post(srv.url + "/write", params={"db": db, "precision": "ns"}, data=body.encode())
    assert r.status_code == 204, r.text


def data_lines(text):
    return [l for l in text.split("\n") if l and not l.startswith("#")]


def test_round_trip_every_type_offline_and_through_servers(volta_server, tmp_path):
    src = volta_server()
    write(src, "src", ALL_TYPES)
    # from the server: stdout, both formats
    lp = run("export", "--host", src.url, "--db", "src").stdout
    js = run("export", "--host", src.url, "--db", "src", "--format", "json").stdout
    doc = json.loads(js)
    assert doc["data_count"] == N_ALL == len(doc["data"])
    m1 = [d for d in doc["data"] if d["_measurement"] == "m 1"]
    assert m1[0] == {"_measurement": "m 1", "_time": "2024-01-01T00:00:00Z", "tag_t,k": "a b=c",
                     "tag_z": "\u00fc", "field_f": 1.0, "field_i": -9223372036854775808,
                     "field_u": 18446744073709551615, "field_b": True,
                     "field_s": 'q"uo\\te\nnl \u20ac'}
    # floats always carry a '.' or an exponent (1.0, not 1), integers never
    assert '"field_f":1.0,' in js.decode() and '"field_f":-3.0}' in js.decode()
    assert '"field_f":1e-7}' in js.decode() and '"field_f":1e+21,' in js.decode()
    assert '"field_n":3,"field_v":2.5}' in js.decode()
    # the same bytes from GET /api/v1/export
    r = requests.get(src.url + "/api/v1/export", params={"db": "src", "format": "json"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert r.content == js
    # into files (gzip by name, and --gzip to stdout)
    f_lp = tmp_path / "e.lp.gz"
    f_js = tmp_path / "e.json"
    run("export", "--host", src.url, "--db", "src", "--out", f_lp)
    run("export", "--host", src.url, "--db", "src", "--format", "json", "--out", f_js)
    assert gzip.decompress(f_lp.read_bytes()) == lp
    assert f_js.read_bytes() == js
    gz_stdout = run("export", "--host", src.url, "--db", "src", "--format", "json", "--gzip").stdout
    assert gzip.decompress(gz_stdout) == js

    # import: into a server (file, stdin, gzip) and offline, then export again: same bytes
    dst = volta_server()
    cases = [("a", ["--create-db", f_lp], None), ("b", ["--create-db", f_js], None),
             ("c", ["--create-db", "-"], gz_stdout), ("d", ["--create-db", "--format", "lp", "-"], lp)]
    for db, args, stdin in cases:
        p = run("import", "--host", dst.url, "--db", db, *args, input=stdin)
        assert b"%d points read, %d written, 0 rejected" % (N_ALL, N_ALL) in p.stderr, p.stderr
        again = run("export", "--host", dst.url, "--db", db, "--format", "json").stdout
        assert json.loads(again)["data"] == doc["data"], db
        assert run("export", "--host", dst.url, "--db", db).stdout == lp.replace(b"src", db.encode())
    off = tmp_path / "offline"
    run("import", "--data", off, "--db", "o", "--create-db", f_js)
    run("import", "--data", off, "--db", "o2", "--create-db", f_lp)
    for db in ("o", "o2"):
        assert run("export", "--data", off, "--db", db, "--format", "json").stdout == js
    # offline export of a stopped server's directory gives the server's export
    src.stop()
    assert run("export", "--data", src.data, "--db", "src", "--format", "json").stdout == js
    assert run("export", "--data", src.data, "--db", "src").stdout == lp


def test_filters(volta_server):
    srv = volta_server()
    write(srv, "f", ALL_TYPES)
    def count(*args):
        return json.loads(run("export", "--host", srv.url, "--db", "f", "--format", "json",
                              *args).stdout)["data_count"]
    assert count() == N_ALL
    assert count("--measurement", "cpu") == 2
    assert count("--measurement", "cpu,m 1") == N_ALL
    assert count("--measurement", "cpu", "--measurement", "m 1") == N_ALL
    assert count("--start", "2024-01-01T00:00:01Z", "--end", "1704067203000000000") == 3
    assert count("--start", "2024-01-01T01:00:00Z") == 1
    assert count("--end", "2023-12-31") == 0
    # offline the same
    srv.stop()
    lp = run("export", "--data", srv.data, "--db", "f", "--measurement", "cpu",
             "--start", "2024-01-01T00:30:00Z").stdout.decode()
    assert data_lines(lp) == ["cpu,host=h2 n=3i,v=2.5 1704070800000000000"]
    # errors: unknown database, bad time, bad format
    p = run("export", "--data", srv.data, "--db", "nope", check=False)
    assert p.returncode != 0 and b"database not found: nope" in p.stderr
    p = run("export", "--data", srv.data, "--db", "f", "--start", "yesterday", check=False)
    assert p.returncode == 2 and b"--start" in p.stderr
    p = run("export", "--data", srv.data, "--db", "f", "--format", "csv", check=False)
    assert p.returncode == 2


def test_http_export_errors(volta_server):
    srv = volta_server()
    write(srv, "x", ALL_TYPES)
    r = requests.get(srv.url + "/api/v1/export", params={"db": "nope"})
    assert r.status_code == 404 and "database not found" in r.json()["error"]
    r = requests.get(srv.url + "/api/v1/export")
    assert r.status_code == 400
    r = requests.get(srv.url + "/api/v1/export", params={"db": "x", "rp": "nope"})
    assert r.status_code == 404 and "retention policy not found" in r.json()["error"]
    r = requests.get(srv.url + "/api/v1/export", params={"db": "x", "start": "soon"})
    assert r.status_code == 400
    r = requests.get(srv.url + "/api/v1/export", params={"db": "x", "gzip": "true"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/gzip"
    plain = requests.get(srv.url + "/api/v1/export", params={"db": "x"})
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert gzip.decompress(r.content) == plain.content and plain.content.count(b" 17040") == N_ALL
    assert requests.post(srv.url + "/api/v1/export", params={"db": "x"}).status_code == 405


def test_data_count_mismatch_and_malformed_json(volta_server, tmp_path):
    srv = volta_server()
    write(srv, "src", ALL_TYPES)
    js = run("export", "--host", srv.url, "--db", "src", "--format", "json").stdout.decode()
    bad = tmp_path / "bad.json"
    bad.write_text(js.replace('"data_count":%d' % N_ALL, '"data_count":%d' % (N_ALL + 1)))
    p = run("import", "--host", srv.url, "--db", "dst", "--create-db", bad, check=False)
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "data_count is 8 but data holds 7 objects" in err
    assert "7 points read, 7 written" in err  # what was read was written, and said so
    # key order does not matter: data_count first
    first = tmp_path / "first.json"
    d = json.loads(js)
    first.write_text(json.dumps({"data_count": d["data_count"], "field_types": d["field_types"],
                                 "data": d["data"]}))
    p = run("import", "--data", tmp_path / "o", "--db", "o", "--create-db", first)
    assert b"data_count 7 (matches)" in p.stderr
    # truncated: no data_count
    cut = tmp_path / "cut.json"
    cut.write_text(js[: js.index("],\"data_count\"")] + "]}")
    p = run("import", "--data", tmp_path / "o", "--db", "o", cut, check=False)
    assert p.returncode == 1 and b"no data_count" in p.stderr
    # malformed: the error names byte, line and column
    mal = tmp_path / "mal.json"
    mal.write_text('{"data":[\n{"_measurement":"m","_time":1,"field_v":01}],"data_count":1}')
    p = run("import", "--data", tmp_path / "o", "--db", "o", mal, check=False)
    assert p.returncode == 1
    assert re.search(rb"invalid number '01' at byte 50 \(line 2, column 41\)", p.stderr), p.stderr


def write_requests(srv):
    m = requests.get(srv.url + "/metrics").text
    return sum(int(v) for v in re.findall(r'volta_http_requests_total\{endpoint="write",status="\d+"\} (\d+)', m))


def test_batches_of_1000_and_big_streaming(volta_server, tmp_path):
    gen = run("gen", "--days", "21", "--plants", "1000").stdout  # 21 x 24 x 1008 = 508032 points
    npoints = gen.count(b"\n")
    assert npoints == 508032
    big = tmp_path / "big.lp"
    big.write_bytes(gen)
    del gen
    srv = volta_server()
    before = write_requests(srv)
    p = run("import", "--host", srv.url, "--db", "ons", "--create-db", big)
    assert b"%d points read, %d written, 0 rejected, 509 batches" % (npoints, npoints) in p.stderr
    assert write_requests(srv) - before == 509  # 508 x 1000 + 32
    # --batch
    small = tmp_path / "small.lp"
    small.write_bytes(b"".join(big.read_bytes().splitlines(keepends=True)[:2500]))
    before = write_requests(srv)
    run("import", "--host", srv.url, "--db", "ons2", "--create-db", "--batch", "500", small)
    assert write_requests(srv) - before == 5

    # export through the server streams: JSON of the whole database, gzip'ed to a file
    out = tmp_path / "big.json.gz"
    run("export", "--host", srv.url, "--db", "ons", "--format", "json", "--out", out)
    srv.stop()
    # peak RSS (offline, /usr/bin/time -v) must not grow with the data: compare the whole
    # export with an export of nothing from the same directory
    env = {"ASAN_OPTIONS": "detect_leaks=0:quarantine_size_mb=8"}
    def peak_kb(*args, stdin=None):
        p = subprocess.run(["/usr/bin/time", "-v", volta_bin(), *[str(a) for a in args]],
                           stdin=stdin, capture_output=True, timeout=900, env={**os.environ, **env})
        assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
        return int(re.search(rb"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)), p
    base, _ = peak_kb("export", "--data", srv.data, "--db", "ons", "--measurement", "none",
                      "--out", tmp_path / "none.lp")
    full, p = peak_kb("export", "--data", srv.data, "--db", "ons", "--format", "json",
                      "--out", tmp_path / "off.json")
    size = os.path.getsize(tmp_path / "off.json")
    assert size > 100e6
    print("export: baseline %d KB, full %d KB, output %d MB" % (base, full, size // 10**6))
    assert full - base < 32 * 1024, (base, full)
    # the offline JSON equals the server's, and imports back (stdin, gzip) with bounded memory
    assert gzip.decompress(out.read_bytes()) == (tmp_path / "off.json").read_bytes()
    with open(out, "rb") as f:
        imp, p = peak_kb("import", "--data", tmp_path / "again", "--db", "ons", "--create-db",
                         "-", stdin=f)
    print("import: %d KB" % imp)
    assert b"data_count 508032 (matches)" in p.stderr
    assert imp - base < 64 * 1024, (base, imp)
    lp1 = run("export", "--data", srv.data, "--db", "ons").stdout
    lp2 = run("export", "--data", tmp_path / "again", "--db", "ons").stdout
    assert lp1 == lp2 and lp1.count(b"\n") == npoints + 1
