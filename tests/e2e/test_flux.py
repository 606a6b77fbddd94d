"""End-to-end tests of Flux on POST /api/v2/query (docs/FLUX.md) against `volta serve`.

No InfluxDB 2.x runs on this machine, so the expectations are golden texts derived from the
InfluxDB 2 documentation:
  - the annotated CSV layout (leading annotation column, result/table columns, #group,
    #datatype, #default rows, the result name in #default and empty in the records, CRLF line
    ends, an empty line after each result and before a table with another schema) is the
    "Annotated CSV" reference, docs.influxdata.com/influxdb/v2/reference/syntax/annotated-csv;
  - the table columns and group key of from()/range() (_start,_stop,_time,_value,_field,
    _measurement,<tags>) follow the same page's example;
  - the request format (JSON {"query", "type", "dialect"} or Content-Type application/vnd.flux;
    org/orgID; header on and no annotations unless the dialect lists them) is the v2 API
    reference "POST /api/v2/query" and InfluxDB's QueryRequest.WithDefaults;
  - error bodies {"code": "invalid", "message": "compilation failed: error @L:C-L:C: ..."} and
    404 "could not find bucket" follow InfluxDB 2.x's HTTP error encoding;
  - duplicate() without `as` fails as Flux's type checker reports it: "missing required
    argument as" (docs.influxdata.com/flux/v0/stdlib/universe/duplicate: `as` is required).
"""
import calendar
import json
import time

import requests

T2024 = 1704067200  # 2024-01-01T00:00:00Z

ANN = {"annotations": ["group", "datatype", "default"]}


def flux(srv, q, dialect=None, raw=False, params=None):
    url = srv.url + "/api/v2/query"
    params = params if params is not None else {"org": "my-org"}
    if raw:
        return requests.post(url, params=params, data=q.encode(),
                             headers={"Content-Type": "application/vnd.flux"}, timeout=30)
    body = {"query": q, "type": "flux"}
    if dialect is not None:
        body["dialect"] = dialect
    return requests.post(url, params=params, data=json.dumps(body),
                         headers={"Content-Type": "application/json"}, timeout=30)


def setup_ons(srv, extra_lines=()):
    r = requests.post(srv.url + "/query", data={"q": "CREATE DATABASE ons"}, timeout=30)
    assert r.status_code == 200, r.text
    m = 60
    lines = [
        "generation,source=hydro,subsystem=SE value=10 %d" % (T2024 + 0 * m),
        "generation,source=hydro,subsystem=SE value=20 %d" % (T2024 + 1 * m),
        "generation,source=hydro,subsystem=SE value=30 %d" % (T2024 + 5 * m),
        "generation,source=wind,subsystem=S value=5 %d" % (T2024 + 0 * m),
        "generation,source=wind,subsystem=S value=7.5 %d" % (T2024 + 2 * m),
        "generation,source=thermal,subsystem=NE value=2.25 %d" % (T2024 + 40 * 86400),  # Feb 10
    ]
    lines += list(extra_lines)
    r = requests.post(srv.url + "/write", params={"db": "ons", "precision": "s"},
                      data="\n".join(lines) + "\n", timeout=30)
    assert r.status_code == 204, r.text


def crlf(text):
    return text.replace("\n", "\r\n")


def test_runbook_group_sum_annotated(volta_server):
    srv = volta_server()
    setup_ons(srv)
    r = flux(srv, 'from(bucket:"ons") |> range(start: 2024-01-01T00:00:00Z, stop: 2024-02-01T00:00:00Z)'
                  ' |> group(columns: ["subsystem"]) |> sum()', dialect=ANN)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.content.decode() == crlf(
        "#group,false,false,true,false\n"
        "#datatype,string,long,string,double\n"
        "#default,_result,,,\n"
        ",result,table,subsystem,_value\n"
        ",,0,S,12.5\n"
        ",,1,SE,60\n"
        "\n")


def test_runbook_aggregate_window_relative(volta_server):
    """from |> range(start: -1h) |> filter |> aggregateWindow(5m, mean) |> yield(name: "mean").
    now() is the server's clock: _start/_stop are checked against the request's time span,
    everything else exactly."""
    srv = volta_server()
    now = int(time.time())
    base = (now // 300) * 300 - 1800  # a 5-minute boundary, 30-35 minutes ago
    setup_ons(srv, [
        "generation,source=hydro,subsystem=SE value=1 %d" % base,
        "generation,source=hydro,subsystem=SE value=2 %d" % (base + 60),
        "generation,source=hydro,subsystem=SE value=4 %d" % (base + 300),
        "generation,source=wind,subsystem=S value=100 %d" % base,
    ])
    before = time.time()
    r = flux(srv, 'from(bucket: "ons") |> range(start: -1h) |> filter(fn: (r) => '
                  'r._measurement == "generation" and r.subsystem == "SE") '
                  '|> aggregateWindow(every: 5m, fn: mean, createEmpty: false) |> yield(name: "mean")',
             dialect=ANN)
    after = time.time()
    assert r.status_code == 200, r.text
    text = r.content.decode()
    assert text.endswith("\r\n\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[0] == "#group,false,false,true,true,false,false,true,true,true,true"
    assert lines[1] == ("#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,"
                        "double,string,string,string,string")
    assert lines[2] == "#default,mean,,,,,,,,,"
    assert lines[3] == ",result,table,_start,_stop,_time,_value,_field,_measurement,source,subsystem"
    rows = [l.split(",") for l in lines[4:] if l]
    assert len(rows) == 2

    def ts(s):
        frac = float("0" + s[19:-1]) if len(s) > 20 else 0.0
        return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + frac

    def iso(t):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    for row in rows:
        start, stop = ts(row[3]), ts(row[4])
        assert before - 1 <= stop <= after + 1
        assert abs((stop - start) - 3600) < 1e-6
    assert [r_[5:] for r_ in rows] == [
        [iso(base + 300), "1.5", "value", "generation", "hydro", "SE"],
        [iso(base + 600), "4", "value", "generation", "hydro", "SE"],
    ]
    assert all(r_[:3] == ["", "", "0"] for r_ in rows)


def test_runbook_last_and_duplicate(volta_server):
    srv = volta_server()
    now = int(time.time())
    setup_ons(srv, ["generation,source=hydro,subsystem=SE value=99 %d" % (now - 3600)])
    # §3: the latest timestamp in the last 7 days
    r = flux(srv, 'from(bucket: "ons") |> range(start: -7d) |> last() |> keep(columns: ["_time", "_value"])',
             raw=True)
    assert r.status_code == 200, r.text
    assert r.content.decode() == crlf(
        ",result,table,_time,_value\n"
        ",_result,0,%s,99\n\n" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)))
    # §4: duplicate(column: "_time") without as is a compilation error
    q = 'from(bucket: "ons") |> range(start: -24h) |> duplicate(column: "_time")'
    r = flux(srv, q)
    assert r.status_code == 400
    assert r.json() == {"code": "invalid",
                        "message": "compilation failed: error @1:46-1:72: missing required argument as"}


def test_raw_flux_default_dialect_and_yields(volta_server):
    srv = volta_server()
    setup_ons(srv)
    q = ('data = from(bucket:"ons") |> range(start: 2024-01-01T00:00:00Z, stop: 2024-01-02T00:00:00Z)\n'
         'data |> filter(fn: (r) => r.source == "wind") |> yield(name: "raw")\n'
         'data |> filter(fn: (r) => r.subsystem =~ /^S/) |> count() |> yield(name: "n")\n')
    want = crlf(
        ",result,table,_start,_stop,_time,_value,_field,_measurement,source,subsystem\n"
        ",raw,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:00:00Z,5,value,generation,wind,S\n"
        ",raw,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:02:00Z,7.5,value,generation,wind,S\n"
        "\n"
        ",result,table,_start,_stop,_field,_measurement,source,subsystem,_value\n"
        ",n,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,value,generation,hydro,SE,3\n"
        ",n,1,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,value,generation,wind,S,2\n"
        "\n")
    r = flux(srv, q, raw=True, params={"orgID": "0123456789abcdef"})
    assert r.status_code == 200, r.text
    assert r.content.decode() == want
    # the same through JSON without a dialect, and with db/rp bucket naming
    r = flux(srv, q.replace('"ons"', '"ons/autogen"'))
    assert r.status_code == 200, r.text
    assert r.content.decode() == want
    # header off
    r = flux(srv, 'from(bucket:"ons") |> range(start: 2024-02-01T00:00:00Z, stop: 2024-03-01T00:00:00Z)',
             dialect={"header": False})
    assert r.status_code == 200, r.text
    assert r.content.decode() == crlf(
        ",_result,0,2024-02-01T00:00:00Z,2024-03-01T00:00:00Z,2024-02-10T00:00:00Z,2.25,value,generation,thermal,NE\n\n")


def test_pivot_and_month_windows(volta_server):
    srv = volta_server()
    setup_ons(srv, ["generation,source=wind,subsystem=S cf=0.5 %d" % T2024])
    r = flux(srv, 'import "influxdata/influxdb/schema"\n'
                  'from(bucket:"ons") |> range(start: 2024-01-01T00:00:00Z, stop: 2024-01-01T00:01:00Z)'
                  ' |> filter(fn: (r) => r.source == "wind") |> schema.fieldsAsCols()', dialect=ANN)
    assert r.status_code == 200, r.text
    assert r.content.decode() == crlf(
        "#group,false,false,true,true,true,true,true,false,false,false\n"
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,string,string,string,dateTime:RFC3339,double,double\n"
        "#default,_result,,,,,,,,,\n"
        ",result,table,_start,_stop,_measurement,source,subsystem,_time,cf,value\n"
        ",,0,2024-01-01T00:00:00Z,2024-01-01T00:01:00Z,generation,wind,S,2024-01-01T00:00:00Z,0.5,5\n"
        "\n")
    r = flux(srv, 'from(bucket:"ons") |> range(start: 2023-12-20T00:00:00Z, stop: 2024-03-01T00:00:00Z)'
                  ' |> filter(fn: (r) => r._field == "value") |> group()'
                  ' |> aggregateWindow(every: 1mo, fn: count) |> keep(columns: ["_time", "_value"])', raw=True)
    assert r.status_code == 200, r.text
    assert r.content.decode() == crlf(
        ",result,table,_time,_value\n"
        ",_result,0,2024-01-01T00:00:00Z,0\n"
        ",_result,0,2024-02-01T00:00:00Z,5\n"
        ",_result,0,2024-03-01T00:00:00Z,1\n"
        "\n")


def test_errors(volta_server):
    srv = volta_server()
    setup_ons(srv)
    r = flux(srv, 'from(bucket:"ons") |> range(start: -1h')
    assert r.status_code == 400
    assert r.json() == {"code": "invalid",
                        "message": "compilation failed: error @1:23-1:39: expected RPAREN, got EOF"}
    r = flux(srv, 'from(bucket:"nope") |> range(start: -1h)', raw=True)
    assert r.status_code == 404
    assert r.json() == {"code": "not found",
                        "message": 'failed to initialize execute state: could not find bucket "nope"'}
    r = flux(srv, 'from(bucket:"ons") |> range(start: -1h) |> nosuch()')
    assert r.status_code == 400
    assert r.json()["message"] == "compilation failed: error @1:44-1:50: undefined identifier nosuch"
    r = requests.post(srv.url + "/api/v2/query", data="{not json", headers={"Content-Type": "application/json"},
                      timeout=30)
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    assert r.json()["message"].startswith("failed parsing request body as JSON")
    r = requests.post(srv.url + "/api/v2/query", json={"query": "x", "type": "sql"}, timeout=30)
    assert r.status_code == 400 and r.json() == {"code": "invalid", "message": "unknown query type: sql"}
    r = requests.post(srv.url + "/api/v2/query", json={"type": "flux"}, timeout=30)
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": "request body requires either query or AST"}
    r = requests.get(srv.url + "/api/v2/query", timeout=30)
    assert r.status_code == 405
