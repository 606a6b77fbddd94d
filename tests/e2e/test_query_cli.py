"""
`volta query`: InfluxQL (and Flux) from the command line, against a running server (--host) and
in-process on a stopped server's data directory (--data). Checks the table / json / csv output
(json and csv must be exactly what the server's /query answers), the query sources (argument,
--file, stdin, several statements), and the exit codes: 0 ok, 1 a failed statement or an HTTP
error (syntax error with line/char, missing database), 2 bad usage.
"""
import json
import subprocess
import urllib.parse
import urllib.request

import pytest

from conftest import volta_bin

POINTS = (
    'cpu,host=a,region=eu value=1.5,n=3i,s="hi x",b=true 1700000000000000000\n'
    "cpu,host=b,region=us value=2,n=4i 1700000001000000000\n"
    "mem,host=a used=1e-7 1700000000500000000\n"
)

CPU_TABLE = (
    "name: cpu\n"
    "time                 b    host n region s    value\n"
    "----                 -    ---- - ------ -    -----\n"
    "2023-11-14T22:13:20Z true a    3 eu     hi x 1.5\n"
    "2023-11-14T22:13:21Z      b    4 us          2\n"
)


def run(*args, stdin=None):
    return subprocess.run([volta_bin(), "query", *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


def post_query(srv, q, db="db1", csv=False, epoch=None):
    params = {"q": q, "db": db}
    if epoch:
        params["epoch"] = epoch
    req = urllib.request.Request(srv.url + "/query", data=urllib.parse.urlencode(params).encode(),
                                 method="POST")
    if csv:
        req.add_header("Accept", "application/csv")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


@pytest.fixture
def loaded(volta_server):
    srv = volta_server()
    post_query(srv, "CREATE DATABASE db1")
    req = urllib.request.Request(srv.url + "/write?db=db1", data=POINTS.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 204
    return srv


def test_host_table(loaded):
    r = run("--host", loaded.url, "--db", "db1", "SELECT * FROM cpu")
    assert r.returncode == 0, r.stderr
    assert r.stdout == CPU_TABLE
    assert r.stderr == ""

    r = run("--host", loaded.url, "--db", "db1", "SELECT mean(value) FROM cpu GROUP BY host")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "name: cpu\ntags: host=a\ntime                 mean\n----                 ----\n"
        "1970-01-01T00:00:00Z 1.5\n\n"
        "name: cpu\ntags: host=b\ntime                 mean\n----                 ----\n"
        "1970-01-01T00:00:00Z 2\n"
    )

    r = run("--host", loaded.url, "--db", "db1", "--epoch", "s", "SELECT used FROM mem")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "name: mem\ntime       used\n----       ----\n1700000000 1e-7\n"


def test_host_json_is_the_servers(loaded):
    q = "SELECT * FROM cpu; SELECT * FROM mem"
    r = run("--host", loaded.url, "--db", "db1", "--format", "json", q)
    assert r.returncode == 0, r.stderr
    assert r.stdout == post_query(loaded, q)

    r = run("--host", loaded.url, "--db", "db1", "--format", "json", "--epoch", "ms", q)
    assert r.returncode == 0, r.stderr
    assert r.stdout == post_query(loaded, q, epoch="ms")

    p = run("--host", loaded.url, "--db", "db1", "--format", "json", "--pretty", "SELECT * FROM mem")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith('{\n    "results": [\n        {\n            "statement_id": 0,\n')
    assert '                            1e-7\n' in p.stdout  # numbers keep the server's text
    assert json.loads(p.stdout) == json.loads(post_query(loaded, "SELECT * FROM mem"))


def test_host_csv_is_the_servers(loaded):
    q = "SELECT * FROM cpu; SELECT * FROM mem; SHOW DATABASES"
    r = run("--host", loaded.url, "--db", "db1", "--format", "csv", q)
    assert r.returncode == 0, r.stderr
    assert r.stdout == post_query(loaded, q, csv=True)
    assert "mem,,1700000000500000000,a,0.0000001\n" in r.stdout

    r = run("--host", loaded.url, "--db", "db1", "--format", "csv", "--epoch", "ms", "SELECT * FROM cpu")
    assert r.returncode == 0, r.stderr
    assert r.stdout == post_query(loaded, "SELECT * FROM cpu", csv=True, epoch="ms")
    assert "cpu,,1700000000000,true,a,3,eu,hi x,1.5\n" in r.stdout


def test_query_from_stdin_and_file(loaded, tmp_path):
    q = "SELECT * FROM cpu;\nSELECT count(value) FROM cpu\n"
    want = CPU_TABLE + "\nname: cpu\ntime                 count\n----                 -----\n1970-01-01T00:00:00Z 2\n"
    r = run("--host", loaded.url, "--db", "db1", stdin=q)
    assert r.returncode == 0, r.stderr
    assert r.stdout == want
    f = tmp_path / "q.iql"
    f.write_text(q)
    r = run("--host", loaded.url, "--db", "db1", "--file", str(f))
    assert r.returncode == 0, r.stderr
    assert r.stdout == want
    r = run("--host", loaded.url, "--db", "db1", "--file", str(tmp_path / "missing.iql"))
    assert r.returncode == 2
    assert "missing.iql" in r.stderr


def test_syntax_error(loaded):
    for fmt in ("table", "json", "csv"):
        r = run("--host", loaded.url, "--db", "db1", "--format", fmt, "SELECT * FROM")
        assert r.returncode == 1, (fmt, r.stdout)
        assert "error parsing query: found EOF, expected identifier at line 1, char 15" in r.stderr
        assert r.stdout == ""


def test_missing_database(loaded):
    r = run("--host", loaded.url, "--db", "nodb", "SELECT * FROM cpu")
    assert r.returncode == 1
    assert "statement 0: error: database not found: nodb" in r.stderr
    # json keeps the server's document; csv (where InfluxDB prints nothing for it) still fails
    r = run("--host", loaded.url, "--db", "nodb", "--format", "json", "SELECT * FROM cpu")
    assert r.returncode == 1
    assert json.loads(r.stdout) == {"results": [{"statement_id": 0, "error": "database not found: nodb"}]}
    r = run("--host", loaded.url, "--db", "nodb", "--format", "csv", "SELECT * FROM cpu")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "database not found: nodb" in r.stderr
    # a later good statement still prints; the exit code still says one failed
    r = run("--host", loaded.url, "SHOW DATABASES; SELECT * FROM cpu")
    assert r.returncode == 1
    assert r.stdout.startswith("name: databases\nname\n----\n")
    assert "statement 1: error: database name required" in r.stderr


def test_data_dir(loaded):
    want_json = post_query(loaded, "SELECT * FROM cpu; SELECT * FROM mem")
    want_csv = post_query(loaded, "SELECT * FROM cpu; SELECT * FROM mem", csv=True)
    busy = run("--data", loaded.data, "--db", "db1", "SELECT * FROM cpu")
    assert busy.returncode == 1
    assert "is in use by a running volta; use --host" in busy.stderr
    loaded.stop()

    r = run("--data", loaded.data, "--db", "db1", "SELECT * FROM cpu")
    assert r.returncode == 0, r.stderr
    assert r.stdout == CPU_TABLE
    r = run("--data", loaded.data, "--db", "db1", "--format", "json", "SELECT * FROM cpu; SELECT * FROM mem")
    assert r.returncode == 0, r.stderr
    assert r.stdout == want_json
    r = run("--data", loaded.data, "--db", "db1", "--format", "csv", stdin="SELECT * FROM cpu; SELECT * FROM mem")
    assert r.returncode == 0, r.stderr
    assert r.stdout == want_csv
    r = run("--data", loaded.data, "--db", "db1", "SELECT * FROM")
    assert r.returncode == 1
    assert "at line 1, char 15" in r.stderr
    r = run("--data", loaded.data, "--db", "nodb", "SELECT * FROM cpu")
    assert r.returncode == 1
    assert "database not found: nodb" in r.stderr
    r = run("--data", loaded.data + "-nope", "SHOW DATABASES")
    assert r.returncode == 1
    assert "no such data directory" in r.stderr


def test_flux(loaded):
    flux = ('from(bucket:"db1/autogen") |> range(start: 2023-11-14T00:00:00Z, stop: 2023-11-15T00:00:00Z)'
            ' |> filter(fn: (r) => r._field == "value")')
    r = run("--host", loaded.url, "--flux", "--format", "csv", flux)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("#datatype,")
    assert ",,0,2023-11-14T00:00:00Z,2023-11-15T00:00:00Z,2023-11-14T22:13:20Z,1.5,value,cpu,a,eu" in r.stdout
    r = run("--host", loaded.url, "--flux", flux)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["result", "table", "_start", "_stop", "_time", "_value", "_field",
                                "_measurement", "host", "region"]
    assert lines[1].startswith("------ ----- ------")
    assert len(lines) == 4 and lines[3].split()[-4:] == ["value", "cpu", "b", "us"]
    r = run("--host", loaded.url, "--flux", 'from(bucket:"zz") |> range(start: -1h)')
    assert r.returncode == 1
    assert 'could not find bucket "zz"' in r.stderr


def test_usage_and_connection_errors(loaded):
    h = run("--help")
    assert h.returncode == 0 and h.stdout.startswith("usage: volta query")
    for args in (["--format", "xml", "SHOW DATABASES"], ["--epoch", "d", "SHOW DATABASES"],
                 ["--host", loaded.url, "--data", loaded.data, "SHOW DATABASES"],
                 ["SHOW", "DATABASES"], ["--flux", "--format", "json", "x"], ["--bogus"]):
        r = run(*args)
        assert r.returncode == 2, args
        assert r.stderr
    r = run("--host", loaded.url, stdin="  \n")
    assert r.returncode == 2 and "no query given" in r.stderr
    r = run("--host", "http://127.0.0.1:1", "SHOW DATABASES")
    assert r.returncode == 1
    assert "127.0.0.1:1" in r.stderr
