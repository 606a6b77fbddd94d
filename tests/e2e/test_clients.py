"""Real InfluxDB 1.x clients against a server: Debian's `influx` CLI (1.6.7: -execute with
-format json/csv, -import of a DDL/DML file) and python3-influxdb (InfluxDBClient). Every test runs
against the real InfluxDB (influxd_server) and against volta (volta_session_server) with the same
assertions, so a failure on volta is a compatibility gap. Each test uses its own database names.
"""
import json
import shutil
import subprocess

import pytest
import requests
from influxdb import InfluxDBClient

INFLUX_CLI = shutil.which("influx") or "/usr/bin/influx"


@pytest.fixture(params=["influxd", "volta"])
def server(request):
    if request.param == "influxd":
        return request.getfixturevalue("influxd_server")
    return request.getfixturevalue("volta_session_server")


def cli(srv, *args, check=True):
    if not shutil.which(INFLUX_CLI):
        pytest.skip("the influx CLI is not installed")
    p = subprocess.run([INFLUX_CLI, "-host", "127.0.0.1", "-port", str(srv.port)] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, "influx %s -> rc %d\nstdout: %s\nstderr: %s" % (args, p.returncode, p.stdout, p.stderr)
    return p


def http_query(srv, q, db=None):
    data = {"q": q}
    if db:
        data["db"] = db
    r = requests.post(srv.url + "/query", data=data, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_cli_create_show_drop_json(server):
    cli(server, "-execute", "CREATE DATABASE cli_json_db")
    out = cli(server, "-execute", "SHOW DATABASES", "-format", "json").stdout
    doc = json.loads(out)
    series = doc["results"][0]["series"][0]
    assert series["name"] == "databases"
    assert series["columns"] == ["name"]
    assert ["cli_json_db"] in series["values"]
    cli(server, "-execute", "DROP DATABASE cli_json_db")
    doc = json.loads(cli(server, "-execute", "SHOW DATABASES", "-format", "json").stdout)
    values = doc["results"][0]["series"][0].get("values", []) if doc["results"][0].get("series") else []
    assert ["cli_json_db"] not in values


def test_cli_show_databases_csv(server):
    cli(server, "-execute", "CREATE DATABASE cli_csv_db")
    out = cli(server, "-execute", "SHOW DATABASES", "-format", "csv").stdout
    lines = out.strip().splitlines()
    assert lines[0] == "name,name"
    assert "databases,cli_csv_db" in lines
    cli(server, "-execute", "DROP DATABASE cli_csv_db")


IMPORT = """# DDL
CREATE DATABASE cli_import_db
CREATE RETENTION POLICY two_weeks ON cli_import_db DURATION 2w REPLICATION 1
# DML
# CONTEXT-DATABASE: cli_import_db
# CONTEXT-RETENTION-POLICY: autogen
cpu,host=a,region=east usage=10.5,count=3i 1541030400
cpu,host=a,region=east usage=11.5,count=4i 1541030460
cpu,host=b,region=west usage=20,count=7i 1541030400
cpu,host=b,region=west usage=21.25,count=8i,note="hot" 1541030460
mem,host=a free=1024i 1541030400
"""


def test_cli_import_then_query(server, tmp_path):
    path = tmp_path / "import.txt"
    path.write_text(IMPORT)
    cli(server, "-execute", "DROP DATABASE cli_import_db")
    p = cli(server, "-import", "-path", str(path), "-precision", "s")
    log = p.stdout + p.stderr
    assert "Processed 2 commands" in log
    assert "Processed 5 inserts" in log
    assert "Failed 0 inserts" in log
    # the DDL ran: the database and its second retention policy exist
    doc = http_query(server, "SHOW RETENTION POLICIES ON cli_import_db")
    assert "series" in doc["results"][0], doc
    names = [row[0] for row in doc["results"][0]["series"][0]["values"]]
    assert names == ["autogen", "two_weeks"]
    # the DML landed: read it back through the CLI, as CSV and as JSON
    out = cli(server, "-database", "cli_import_db", "-precision", "rfc3339", "-format", "csv",
              "-execute", "SELECT usage, count FROM cpu WHERE host = 'b'").stdout
    assert out.strip().splitlines() == [
        "name,time,usage,count",
        "cpu,2018-11-01T00:00:00Z,20,7",
        "cpu,2018-11-01T00:01:00Z,21.25,8",
    ]
    out = cli(server, "-database", "cli_import_db", "-format", "json",
              "-execute", "SELECT sum(usage), count(count) FROM cpu GROUP BY host").stdout
    doc = json.loads(out)
    # the CLI asks for a chunked response: each series arrives as its own result
    series = [s for res in doc["results"] for s in res.get("series", [])]
    assert [s["tags"] for s in series] == [{"host": "a"}, {"host": "b"}]
    assert [s["values"][0][1:] for s in series] == [[22, 2], [41.25, 2]]
    cli(server, "-execute", "DROP DATABASE cli_import_db")


def test_cli_parse_error(server):
    p = cli(server, "-execute", "SELEKT 1", check=False)
    assert p.returncode == 1
    assert "ERR: error parsing query: found SELEKT, expected SELECT" in p.stdout + p.stderr


def test_python_client_roundtrip(server):
    c = InfluxDBClient(host="127.0.0.1", port=server.port, database="pyclient_db", timeout=30)
    c.drop_database("pyclient_db")
    c.create_database("pyclient_db")
    assert {"name": "pyclient_db"} in c.get_list_database()
    points = [
        {"measurement": "generation", "tags": {"plant": "Itaipu", "subsystem": "S"},
         "time": "2018-11-04T03:00:00Z", "fields": {"value": 7012.5}},
        {"measurement": "generation", "tags": {"plant": "Itaipu", "subsystem": "S"},
         "time": "2018-11-04T04:00:00Z", "fields": {"value": 6999.25}},
        {"measurement": "generation", "tags": {"plant": "São Gonçalo", "subsystem": "NE"},
         "time": "2018-11-04T03:00:00Z", "fields": {"value": 0.0, "ok": True, "note": "night"}},
    ]
    assert c.write_points(points) is True
    assert c.write_points([{"measurement": "generation", "tags": {"plant": "Xingó", "subsystem": "NE"},
                            "time": 1541304000, "fields": {"value": 2500.125, "units": 3}}], time_precision="s") is True
    rs = c.query("SELECT value FROM generation WHERE plant = 'Itaipu'")
    assert list(rs.get_points()) == [
        {"time": "2018-11-04T03:00:00Z", "value": 7012.5},
        {"time": "2018-11-04T04:00:00Z", "value": 6999.25},
    ]
    rs = c.query("SELECT sum(value) FROM generation GROUP BY subsystem")
    assert list(rs.get_points(tags={"subsystem": "S"})) == [{"time": "1970-01-01T00:00:00Z", "sum": 14011.75}]
    assert list(rs.get_points(tags={"subsystem": "NE"})) == [{"time": "1970-01-01T00:00:00Z", "sum": 2500.125}]
    rs = c.query("SELECT value, note, ok FROM generation WHERE subsystem = $s", bind_params={"s": "NE"}, epoch="s")
    assert list(rs.get_points()) == [
        {"time": 1541300400, "value": 0.0, "note": "night", "ok": True},
        {"time": 1541304000, "value": 2500.125, "note": None, "ok": None},
    ]
    tags = c.query("SHOW TAG VALUES FROM generation WITH KEY = plant")
    assert [p["value"] for p in tags.get_points()] == ["Itaipu", "São Gonçalo", "Xingó"]
    c.drop_database("pyclient_db")
    assert {"name": "pyclient_db"} not in c.get_list_database()
    c.close()


def test_python_client_batches(server):
    c = InfluxDBClient(host="127.0.0.1", port=server.port, database="pyclient_batch", timeout=30)
    c.drop_database("pyclient_batch")
    c.create_database("pyclient_batch")
    pts = [{"measurement": "load", "tags": {"subsystem": ("N", "NE", "SE", "S")[i % 4]},
            "time": 1541030400 + i * 60, "fields": {"value": float(i) / 4}} for i in range(1000)]
    assert c.write_points(pts, time_precision="s", batch_size=300) is True
    rs = c.query("SELECT count(value), max(value) FROM load GROUP BY subsystem")
    assert list(rs.get_points(tags={"subsystem": "SE"})) == [{"time": "1970-01-01T00:00:00Z", "count": 250, "max": 249.5}]
    assert len(list(rs.keys())) == 4
    c.drop_database("pyclient_batch")
    c.close()
