"""End-to-end tests of the ingest pipeline through the real binary: the ONS landing zone of a
running `volta serve`, `volta load` (offline and --host) and the ledger (GET /api/v1/ledger).

Every expectation is computed here, independently of volta: the CSV files are parsed with the
csv module, Brasília local times converted with zoneinfo("America/Sao_Paulo") (fold=0: the first
occurrence of a repeated autumn hour; a wall time that the round trip does not give back is in
the spring-forward gap), numbers with float(). Real ONS files are read from ../shared/data/ons
(relative to the project root); the tests that need them skip when that folder is absent. Small
hand-made files are in data/ingest/ (CURVA_CARGA_2018.csv: DST gap and overlap rows;
CURVA_CARGA_2020.csv: malformed rows). VOLTA_INGEST_KILL_PLANTS (default 700) sizes the month
that the kill -9 test interrupts mid-load.
"""
import calendar
import collections
import csv
import gzip
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest
import requests

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover - python < 3.9
    ZoneInfo = None

from conftest import VoltaServer, _wait_ready, free_port, volta_bin

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("VOLTA_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
SHARED_ONS = os.path.join(SOURCE_DIR, "..", "shared", "data", "ons")
FIXTURES = os.path.join(HERE, "data", "ingest")

LOAD_HEADER = "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed"
SUBSYSTEM_NAMES = {"N": "NORTE", "NE": "NORDESTE", "S": "SUL", "SE": "SUDESTE", "SIN": "SISTEMA INTERLIGADO NACIONAL"}
GEN_TAGS = {  # generation tag -> ONS column
    "ceg": "ceg",
    "fuel": "nom_tipocombustivel",
    "modality": "cod_modalidadeoperacao",
    "ons_id": "id_ons",
    "plant": "nom_usina",
    "plant_type": "nom_tipousina",
    "state": "id_estado",
    "subsystem": "id_subsistema",
}
BALANCE_FIELDS = {  # balance field -> ONS column
    "hydro": "val_gerhidraulica",
    "thermal": "val_gertermica",
    "wind": "val_gereolica",
    "solar": "val_gersolar",
    "load": "val_carga",
    "interchange": "val_intercambio",
}

if ZoneInfo is None:
    pytest.skip("zoneinfo (python >= 3.9) is needed to compute the expected UTC times",
                allow_module_level=True)
try:
    SP = ZoneInfo("America/Sao_Paulo")
except Exception:  # pragma: no cover - no tz database
    pytest.skip("the tz database has no America/Sao_Paulo", allow_module_level=True)


# ---- independent reference: CSV -> expected points ---------------------------------------------

NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def local_to_utc_ns(text):
    """Brasília wall time -> ns UTC; None when the wall time did not exist (DST gap) or is
    malformed."""
    t = text.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            naive = datetime.strptime(t, fmt)
            break
        except ValueError:
            naive = None
    if naive is None:
        return None
    utc = naive.replace(tzinfo=SP, fold=0).astimezone(timezone.utc)
    if utc.astimezone(SP).replace(tzinfo=None) != naive:
        return None  # the spring-forward gap
    return calendar.timegm(utc.timetuple()) * 10**9


def is_gap(text):
    t = text.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            datetime.strptime(t, fmt)
            return local_to_utc_ns(text) is None
        except ValueError:
            pass
    return False


def parse_number(text):
    """ONS number -> float; None for an empty cell; ValueError for anything else."""
    t = text.strip()
    if t == "":
        return None
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    if not NUMBER_RE.match(t):
        raise ValueError("bad number %r" % text)
    return float(t)


def read_csv(path):
    """(header, rows) of an ONS CSV; rows are (line number, cells)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=";")
        header = next(reader)
        rows = []
        for cells in reader:
            if not cells or cells == [""]:
                continue
            rows.append((reader.line_num, cells))
    return header, rows


class Expected:
    """What loading one ONS CSV must give: points keyed by (tags tuple, time) -> {field: value},
    counts as the ledger reports them, and the rejected line numbers."""

    def __init__(self, path, measurement, tag_cols, field_cols):
        self.measurement = measurement
        header, rows = read_csv(path)
        col = {name: i for i, name in enumerate(header)}
        if "id_subsistena" in col and "id_subsistema" not in col:
            col["id_subsistema"] = col["id_subsistena"]  # ONS's own typo
        self.tag_keys = sorted(tag_cols)
        self.points = {}
        self.rows_read = len(rows)
        self.rejected = []
        self.rows_empty = 0
        self.empty_values = 0
        self.lines = {}  # line -> (key, fields)
        for line, cells in rows:
            if len(cells) != len(header):
                self.rejected.append(line)
                continue
            ts = local_to_utc_ns(cells[col["din_instante"]])
            if ts is None:
                self.rejected.append(line)
                continue
            try:
                fields = {f: parse_number(cells[col[c]]) for f, c in field_cols.items()}
            except ValueError:
                self.rejected.append(line)
                continue
            empties = [f for f, v in fields.items() if v is None]
            self.empty_values += len(empties)
            fields = {f: v for f, v in fields.items() if v is not None}
            if not fields:
                self.rows_empty += 1
                continue
            tags = tuple((k, cells[col[tag_cols[k]]]) for k in self.tag_keys if cells[col[tag_cols[k]]] != "")
            key = (tags, ts)
            self.points.setdefault(key, {}).update(fields)
            self.lines[line] = (key, fields)
        self.rows_loaded = len(self.lines)
        self.times = [k[1] for k in self.points]

    def field_count(self, field):
        return sum(1 for v in self.points.values() if field in v)


def expected_load(path):
    return Expected(path, "load", {"subsystem": "id_subsistema"}, {"value": "val_cargaenergiahomwmed"})


def expected_generation(path):
    return Expected(path, "generation", GEN_TAGS, {"value": "val_geracao"})


def expected_interchange(path):
    return Expected(path, "interchange", {"origin": "id_subsistema_origem", "destination": "id_subsistema_destino"},
                    {"value": "val_intercambiomwmed"})


def expected_balance(path):
    return Expected(path, "balance", {"subsystem": "id_subsistema"}, BALANCE_FIELDS)


# ---- talking to volta -----------------------------------------------------------------------------


def run_volta(*args, timeout=300):
    return subprocess.run([volta_bin()] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def query(url, q, db="ons"):
    r = requests.get(url + "/query", params={"q": q, "db": db, "epoch": "ns"}, timeout=300)
    assert r.status_code == 200, "%s -> %d %s" % (q, r.status_code, r.text)
    res = r.json()["results"][0]
    assert "error" not in res, "%s -> %s" % (q, res)
    return res.get("series", [])


def nothing_stored(url, q, db="ons"):
    """True when q finds no series: the database is empty or was never created (a refused file is
    refused before the loader creates the database)."""
    r = requests.get(url + "/query", params={"q": q, "db": db, "epoch": "ns"}, timeout=300)
    assert r.status_code == 200, "%s -> %d %s" % (q, r.status_code, r.text)
    res = r.json()["results"][0]
    if "error" in res:
        return res["error"] == "database not found: %s" % db
    return res.get("series", []) == []


def rows_of(url, q, db="ons"):
    """Every row of every series as a dict (tags of GROUP BY merged in)."""
    out = []
    for s in query(url, q, db):
        for v in s.get("values", []):
            d = dict(zip(s["columns"], v))
            d.update(s.get("tags", {}))
            out.append(d)
    return out


def scalar(url, q, db="ons"):
    rows = rows_of(url, q, db)
    if not rows:
        return None
    assert len(rows) == 1, rows
    vals = [v for k, v in rows[0].items() if k != "time"]
    assert len(vals) == 1, rows
    return vals[0]


def ledger(url):
    r = requests.get(url + "/api/v1/ledger", timeout=30)
    assert r.status_code == 200, r.text
    return {f["path"]: f for f in r.json()["files"]}


def health(url):
    r = requests.get(url + "/health", timeout=30)
    return r.json()


def wait_ledger(srv, keys, pred=lambda f: f["state"] in ("loaded", "failed"), timeout=120.0):
    """Polls the ledger until every key satisfies pred; returns the ledger."""
    deadline = time.monotonic() + timeout
    led = {}
    while time.monotonic() < deadline:
        assert srv.running, "volta serve died:\n" + srv.log()
        led = ledger(srv.url)
        if all(k in led and pred(led[k]) for k in keys):
            return led
        time.sleep(0.2)
    pytest.fail("ledger did not reach the expected state within %ss for %s:\n%s\n%s" % (
        timeout, keys, json.dumps({k: led.get(k) for k in keys}, indent=1), srv.log()[-4000:]))


def drop(landing, relpath, src=None, data=None):
    """Puts a file into the landing zone as a writer should: a hidden temp name, then rename."""
    dest = os.path.join(landing, relpath)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = os.path.join(os.path.dirname(dest), "." + os.path.basename(dest) + ".writing")
    if src is not None:
        shutil.copyfile(src, tmp)
    else:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.rename(tmp, dest)
    return dest


def need_shared(*names):
    if not os.path.isdir(SHARED_ONS):
        pytest.skip("real ONS data not found at %s (../shared/data/ons relative to the project "
                    "root): skipping" % os.path.normpath(SHARED_ONS))
    for n in names:
        if not os.path.exists(os.path.join(SHARED_ONS, n)):
            pytest.skip("%s is missing from %s" % (n, SHARED_ONS))
    return [os.path.join(SHARED_ONS, n) for n in names]


def tag_where(tags):
    return " AND ".join("\"%s\" = '%s'" % (k, v.replace("'", "\\'")) for k, v in tags)


def assert_ledger_counts(row, exp):
    got = {k: row[k] for k in ("state", "rows_read", "rows_loaded", "rows_rejected", "rows_empty",
                               "empty_values", "points")}
    want = {"state": "loaded", "rows_read": exp.rows_read, "rows_loaded": exp.rows_loaded,
            "rows_rejected": len(exp.rejected), "rows_empty": exp.rows_empty,
            "empty_values": exp.empty_values, "points": exp.rows_loaded}
    assert got == want, row
    if exp.times:
        assert (row["min_time"], row["max_time"]) == (min(exp.times), max(exp.times)), row


def stored_points(url, measurement, field="value", where=""):
    """{(tags tuple, time): value} of a whole measurement (GROUP BY * gives the tags)."""
    q = 'SELECT "%s" FROM "%s"%s GROUP BY *' % (field, measurement, (" WHERE " + where) if where else "")
    out = {}
    for s in query(url, q):
        tags = tuple(sorted((k, v) for k, v in s.get("tags", {}).items() if v != ""))
        for t, v in s["values"]:
            if v is not None:
                assert (tags, t) not in out, "point stored twice: %s %s" % (tags, t)
                out[(tags, t)] = v
    return out


def start_server(tmp_path, data, *extra, name="srv"):
    """A `volta serve` this module manages itself (for module-scoped fixtures and restarts after
    kill -9); the conftest factory is used where a function scope is enough."""
    logdir = os.path.join(str(tmp_path), "logs")
    os.makedirs(logdir, exist_ok=True)
    for _attempt in range(3):
        port = free_port()
        log_path = os.path.join(logdir, "%s-%d.log" % (name, port))
        args = [volta_bin(), "serve", "--data", data, "--listen", "127.0.0.1:%d" % port] + [str(a) for a in extra]
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        srv = VoltaServer(proc, port, data, log_path)
        time.sleep(0.05)
        if proc.poll() is not None and "Address already in use" in srv.log():
            continue
        _wait_ready(srv, 60.0)
        return srv
    pytest.fail("could not bind a free port")


# ---- 1. real ONS files through the landing zone ---------------------------------------------------

REAL = {
    "CURVA_CARGA_2023.csv": ("CURVA_CARGA_2023.csv", expected_load),
    "BALANCO_ENERGIA_SUBSISTEMA_2023.csv": ("BALANCO_ENERGIA_SUBSISTEMA_2023.csv", expected_balance),
    "GERACAO_USINA-2_2021_01_first2hours.csv": ("GERACAO_USINA-2_2021_01_first2hours.csv", expected_generation),
    # a non-ONS name: only the Hive partition says what it is
    "dataset=interchange/year=2024/month=01/part-0001.csv": ("intercambio_nacional_sample.csv", expected_interchange),
}


@pytest.fixture(scope="module")
def real_landing(tmp_path_factory):
    need_shared(*sorted({v[0] for v in REAL.values()}))
    tmp = tmp_path_factory.mktemp("ingest-real")
    data = os.path.join(str(tmp), "data")
    landing = os.path.join(str(tmp), "landing")
    os.makedirs(landing)
    srv = start_server(tmp, data, "--landing", landing, name="real")
    try:
        for key, (src, _) in REAL.items():
            drop(landing, key, src=os.path.join(SHARED_ONS, src))
        # a CSV with a non-ONS name outside any dataset= partition is not a file volta loads
        drop(landing, "misc/part-0001.csv", src=os.path.join(SHARED_ONS, "intercambio_nacional_sample.csv"))
        led = wait_ledger(srv, list(REAL), timeout=150)
        exp = {key: fn(os.path.join(SHARED_ONS, src)) for key, (src, fn) in REAL.items()}
        yield srv, led, exp
    finally:
        if srv.running:
            srv.stop()


def test_real_files_ledger_counts(real_landing):
    srv, led, exp = real_landing
    for key in REAL:
        assert_ledger_counts(led[key], exp[key])
        assert led[key]["loads"] == 1, led[key]
        assert led[key]["database"] == "ons"
        assert re.fullmatch(r"[0-9a-f]{32}", led[key]["hash"]), led[key]
        assert led[key]["size"] == os.path.getsize(os.path.join(SHARED_ONS, REAL[key][0]))
    assert led["dataset=interchange/year=2024/month=01/part-0001.csv"]["dataset"] == "interchange"
    assert led["GERACAO_USINA-2_2021_01_first2hours.csv"]["dataset"] == "generation"
    assert "misc/part-0001.csv" not in led, "a CSV with a non-ONS name outside dataset= was loaded"
    gen = exp["GERACAO_USINA-2_2021_01_first2hours.csv"]
    assert gen.empty_values > 0 and gen.rows_empty == gen.empty_values  # the file has empty values
    h = health(srv.url)["landing"]
    assert h["loaded"] >= len(REAL) and h["failed"] == 0 and h["rows_rejected"] == 0, h
    assert h["rows_loaded"] == sum(e.rows_loaded for e in exp.values()), h


def test_real_files_counts_per_measurement(real_landing):
    srv, _, exp = real_landing
    load = exp["CURVA_CARGA_2023.csv"]
    per_sub = collections.Counter(dict(k[0])["subsystem"] for k in load.points)
    got = {r["subsystem"]: r["count"] for r in rows_of(srv.url, "SELECT count(value) FROM load GROUP BY subsystem")}
    assert got == dict(per_sub)
    assert scalar(srv.url, "SELECT count(value) FROM load") == len(load.points)
    bal = exp["BALANCO_ENERGIA_SUBSISTEMA_2023.csv"]
    for field in BALANCE_FIELDS:
        assert scalar(srv.url, 'SELECT count("%s") FROM balance' % field) == bal.field_count(field), field
    gen = exp["GERACAO_USINA-2_2021_01_first2hours.csv"]
    assert scalar(srv.url, "SELECT count(value) FROM generation") == len(gen.points)
    ic = exp["dataset=interchange/year=2024/month=01/part-0001.csv"]
    assert scalar(srv.url, "SELECT count(value) FROM interchange") == len(ic.points)
    names = sorted(r["name"] for r in rows_of(srv.url, "SHOW MEASUREMENTS"))
    assert names == ["balance", "generation", "interchange", "load"]


def test_real_files_exact_values(real_landing):
    srv, _, exp = real_landing
    rng = random.Random(4242)
    for key in REAL:
        e = exp[key]
        lines = sorted(e.lines)
        for line in rng.sample(lines, 12) + [lines[0], lines[-1]]:
            (tags, ts), fields = e.lines[line]
            cols = ", ".join('"%s"' % f for f in sorted(fields))
            got = rows_of(srv.url, 'SELECT %s FROM "%s" WHERE %s AND time = %d' % (cols, e.measurement, tag_where(tags), ts))
            assert len(got) == 1, (key, line, got)
            for f, v in fields.items():
                # JSON writes 3.0 as 3 (as InfluxDB does): compare the numbers exactly
                assert got[0][f] == v, (key, line, f, got[0][f], v)
    # a whole measurement, exactly, value by value
    ic = exp["dataset=interchange/year=2024/month=01/part-0001.csv"]
    assert stored_points(srv.url, "interchange") == {k: v["value"] for k, v in ic.points.items()}
    assert any(v["value"] < 0 for v in ic.points.values())  # the sign is the direction


def test_real_generation_tags_and_empty_values(real_landing):
    srv, _, exp = real_landing
    path = os.path.join(SHARED_ONS, "GERACAO_USINA-2_2021_01_first2hours.csv")
    gen = exp["GERACAO_USINA-2_2021_01_first2hours.csv"]
    # every point with every tag, value by value (accents as in the file)
    assert stored_points(srv.url, "generation") == {k: v["value"] for k, v in gen.points.items()}
    fuels = {r["value"] for r in rows_of(srv.url, 'SHOW TAG VALUES FROM generation WITH KEY = "fuel"')}
    header, rows = read_csv(path)
    fi = header.index("nom_tipocombustivel")
    assert fuels == {c[fi] for _, c in rows}
    assert "Óleo Combustível" in fuels
    want = sum(1 for k in gen.points if dict(k[0])["fuel"] == "Óleo Combustível")
    assert scalar(srv.url, "SELECT count(value) FROM generation WHERE fuel = 'Óleo Combustível'") == want
    # the rows with an empty val_geracao wrote no point
    vi, ii, ti = header.index("val_geracao"), header.index("id_ons"), header.index("din_instante")
    empty = [(c[ii], local_to_utc_ns(c[ti])) for _, c in rows if c[vi] == ""]
    assert empty
    for ons_id, ts in empty:
        assert rows_of(srv.url, "SELECT value FROM generation WHERE ons_id = '%s' AND time = %d" % (ons_id, ts)) == []
    # sum per subsystem per hour
    want = collections.defaultdict(float)
    for (tags, ts), v in gen.points.items():
        want[(dict(tags)["subsystem"], ts)] += v["value"]
    lo, hi = min(gen.times), max(gen.times)
    got = rows_of(srv.url, "SELECT sum(value) FROM generation WHERE time >= %d AND time <= %d "
                           "GROUP BY time(1h), subsystem" % (lo, hi))
    got = {(r["subsystem"], r["time"]): r["sum"] for r in got if r["sum"] is not None}
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-6, abs=1e-6), k


def test_real_load_daily_sums(real_landing):
    srv, _, exp = real_landing
    load = exp["CURVA_CARGA_2023.csv"]
    want = collections.defaultdict(float)
    for (tags, ts), v in load.points.items():
        want[(dict(tags)["subsystem"], ts - ts % (86400 * 10**9))] += v["value"]
    lo = min(load.times) - min(load.times) % (86400 * 10**9)
    hi = max(load.times)
    got = rows_of(srv.url, "SELECT sum(value) FROM load WHERE time >= %d AND time <= %d "
                           "GROUP BY time(1d), subsystem" % (lo, hi))
    got = {(r["subsystem"], r["time"]): r["sum"] for r in got if r["sum"] is not None}
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-6), k
    # balance: the whole-period sum of each field per subsystem
    bal = exp["BALANCO_ENERGIA_SUBSISTEMA_2023.csv"]
    for field in ("wind", "load"):
        w = collections.defaultdict(float)
        for (tags, _), v in bal.points.items():
            if field in v:
                w[dict(tags)["subsystem"]] += v[field]
        g = {r["subsystem"]: r["sum"] for r in rows_of(srv.url, 'SELECT sum("%s") FROM balance GROUP BY subsystem' % field)}
        assert set(g) == set(w)
        for s in w:
            assert g[s] == pytest.approx(w[s], rel=1e-6), (field, s)


# ---- 2. daylight saving time -------------------------------------------------------------------


def test_dst_gap_and_overlap(tmp_path, volta_server):
    src = os.path.join(FIXTURES, "CURVA_CARGA_2018.csv")
    path = str(tmp_path / "in" / "CURVA_CARGA_2018.csv")
    os.makedirs(os.path.dirname(path))
    shutil.copyfile(src, path)
    path = os.path.realpath(path)
    exp = expected_load(path)
    _, rows = read_csv(path)
    gap_lines = [ln for ln, c in rows if is_gap(c[2])]
    assert gap_lines and exp.rejected == gap_lines  # the fixture's only bad rows are gap rows
    # the repeated autumn hour: first occurrence (daylight time, -02:00)
    overlap = [c[2] for _, c in rows if c[2].startswith("2018-02-17 23:")]
    assert overlap and local_to_utc_ns(overlap[0]) == calendar.timegm((2018, 2, 18, 1, 0, 0)) * 10**9

    data = str(tmp_path / "data")
    r = run_volta("load", "--data", data, path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    for ln in gap_lines:
        assert re.search(r"^%s:%d: rejected: .*" % (re.escape(path), ln), r.stderr, re.M), r.stderr
    reported = [int(m) for m in re.findall(r"^%s:(\d+): rejected" % re.escape(path), r.stderr, re.M)]
    assert reported == gap_lines, r.stderr
    assert "%d rejected" % len(gap_lines) in r.stdout, r.stdout

    srv = volta_server("--no-landing", data=data)
    row = ledger(srv.url)[path]
    assert_ledger_counts(row, exp)
    assert row["rows_rejected"] == len(gap_lines)
    assert row["error"].startswith("%s:%d:" % (path, gap_lines[0])), row["error"]
    assert stored_points(srv.url, "load") == {k: v["value"] for k, v in exp.points.items()}


# ---- 3. a file rewritten in place ---------------------------------------------------------------


def synth_load_csv(rows):
    out = io.StringIO()
    out.write(LOAD_HEADER + "\r\n")
    for sub, t, v in rows:
        out.write("%s;%s;%s;%s\r\n" % (sub, SUBSYSTEM_NAMES[sub], t, v))
    return out.getvalue()


def test_rewritten_file_is_reloaded(tmp_path, volta_server):
    rng = random.Random(7)
    v1 = []
    for h in range(48):
        for sub in ("N", "NE", "S", "SE"):
            t = "2019-06-%02d %02d:00:00" % (1 + h // 24, h % 24)
            v1.append((sub, t, "%.8f" % rng.uniform(1000, 50000)))
    v2 = [r for i, r in enumerate(v1) if i % 5 != 0 and i < len(v1) - 4]  # rows removed
    v2 = [(s, t, ("%.3f" % (float(v) * 1.01) if i % 7 == 1 else v)) for i, (s, t, v) in enumerate(v2)]
    assert any(a != b for a, b in zip(v1, v2))

    cfg = tmp_path / "v.toml"
    cfg.write_text("[ingest]\nrescan_seconds = 1\n")
    landing = str(tmp_path / "landing")
    srv = volta_server("--config", cfg, "--landing", landing)
    key = "CURVA_CARGA_2019.csv"
    # another file of the same dataset inside the same time range (other series): a reload of
    # the first deletes `load` over its range, so this one must be re-loaded with it
    other_key = "dataset=load/year=2019/sin-extra.csv"
    other = drop(landing, other_key, data=synth_load_csv(
        [("SIN", "2019-06-01 %02d:30:00" % h, "%d.25" % (60000 + h)) for h in range(3, 20)]))
    f1 = drop(landing, key, data=synth_load_csv(v1))
    e1 = expected_load(f1)
    eo = expected_load(other)
    other_points = {k: v["value"] for k, v in eo.points.items()}
    led = wait_ledger(srv, [key, other_key])
    assert_ledger_counts(led[key], e1)
    assert_ledger_counts(led[other_key], eo)
    assert led[key]["loads"] == 1
    assert stored_points(srv.url, "load") == {k: v["value"] for k, v in e1.points.items()} | other_points
    hash1 = led[key]["hash"]

    time.sleep(1.1)  # a new mtime (and size) for the same name
    drop(landing, key, data=synth_load_csv(v2))
    e2 = expected_load(f1)
    led = wait_ledger(srv, [key], pred=lambda f: f["loads"] == 2 and f["state"] == "loaded")
    row = led[key]
    assert_ledger_counts(row, e2)
    assert row["hash"] != hash1 and re.fullmatch(r"[0-9a-f]{32}", row["hash"])
    hash2 = row["hash"]
    got = stored_points(srv.url, "load")
    want = {k: v["value"] for k, v in e2.points.items()}
    removed = set(e1.points) - set(e2.points)
    assert removed and not (removed & set(got)), "removed rows still stored"
    changed = [k for k in want if e1.points[k]["value"] != want[k]]
    assert changed
    assert got == want | other_points
    assert ledger(srv.url)[other_key]["state"] == "loaded"
    assert health(srv.url)["landing"]["reloaded"] >= 1

    # rewritten in place (truncate + write, as ONS does) with the same size: only the content
    # hash can tell; the watcher waits for the file to be quiet, then reloads it
    v3 = list(v2)
    i3 = next(i for i, (_, _, v) in enumerate(v3) if v[-1] != "9")
    sub3, t3, val3 = v3[i3]
    v3[i3] = (sub3, t3, val3[:-1] + str(int(val3[-1]) + 1))
    body3 = synth_load_csv(v3)
    assert len(body3) == len(synth_load_csv(v2))
    time.sleep(1.1)
    with open(f1, "w") as fh:
        fh.write(body3)
    e3 = expected_load(f1)
    led = wait_ledger(srv, [key], pred=lambda f: f["loads"] == 3 and f["state"] == "loaded")
    row = led[key]
    assert_ledger_counts(row, e3)
    assert row["size"] == os.path.getsize(f1) and row["hash"] not in (hash1, hash2)
    want = {k: v["value"] for k, v in e3.points.items()}
    assert stored_points(srv.url, "load") == want | other_points
    assert want[(( ("subsystem", sub3), ), local_to_utc_ns(t3))] == float(v3[i3][2])

    # touched, not changed: not loaded again
    scans0 = health(srv.url)["landing"]["scans"]
    os.utime(f1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and health(srv.url)["landing"]["scans"] < scans0 + 3:
        time.sleep(0.2)
    assert health(srv.url)["landing"]["scans"] >= scans0 + 3, "the landing zone stopped scanning"
    row2 = ledger(srv.url)[key]
    assert row2["loads"] == 3 and row2["hash"] == row["hash"] and row2["state"] == "loaded", row2
    assert stored_points(srv.url, "load") == want | other_points
    assert ledger(srv.url)[other_key]["state"] == "loaded"


# ---- 4. malformed rows, a bad header ------------------------------------------------------------


def test_malformed_rows_rejected_and_counted(tmp_path, volta_server):
    src = os.path.join(FIXTURES, "CURVA_CARGA_2020.csv")
    path = str(tmp_path / "in" / "CURVA_CARGA_2020.csv")
    os.makedirs(os.path.dirname(path))
    shutil.copyfile(src, path)
    path = os.path.realpath(path)
    exp = expected_load(path)
    assert len(exp.rejected) >= 4 and exp.rows_loaded >= 3 and exp.rows_empty >= 1

    data = str(tmp_path / "data")
    r = run_volta("load", "--data", data, path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    reported = [int(m) for m in re.findall(r"^%s:(\d+): rejected: \S" % re.escape(path), r.stderr, re.M)]
    assert reported == exp.rejected, r.stderr
    assert re.search(r"bad time|din_instante", r.stderr), r.stderr

    srv = volta_server("--no-landing", data=data)
    row = ledger(srv.url)[path]
    assert_ledger_counts(row, exp)
    assert stored_points(srv.url, "load") == {k: v["value"] for k, v in exp.points.items()}


def test_bad_header_is_refused(tmp_path, volta_server):
    rows = [("N", "2021-03-01 %02d:00:00" % h, "%d.5" % (5000 + h)) for h in range(6)]
    body = synth_load_csv(rows).replace("val_cargaenergiahomwmed", "val_carga_mw")
    landing = str(tmp_path / "landing")
    srv = volta_server("--landing", landing)
    key = "CURVA_CARGA_2021.csv"
    drop(landing, key, data=body)
    led = wait_ledger(srv, [key])
    row = led[key]
    assert row["state"] == "failed", row
    assert "val_cargaenergiahomwmed" in row["error"] and ":1:" in row["error"], row
    assert row["points"] == 0 and row["rows_loaded"] == 0
    assert "refused %s" % key in srv.log()
    assert nothing_stored(srv.url, "SELECT count(value) FROM load")
    assert health(srv.url)["landing"]["failed"] >= 1
    # the same through `volta load`: REFUSED, exit 1, nothing written
    path = str(tmp_path / "CURVA_CARGA_2021.csv")
    with open(path, "w") as f:
        f.write(body)
    data = str(tmp_path / "data2")
    r = run_volta("load", "--data", data, path)
    assert r.returncode == 1 and "REFUSED" in r.stdout and "val_cargaenergiahomwmed" in r.stdout, (r.stdout, r.stderr)
    srv2 = volta_server("--no-landing", data=data)
    assert ledger(srv2.url)[os.path.realpath(path)]["state"] == "failed"
    assert nothing_stored(srv2.url, "SELECT count(value) FROM load")


def test_latin1_bom_quotes(tmp_path, volta_server):
    """Older ONS files: Latin-1 text (converted to UTF-8), a UTF-8 BOM before the header, quoted
    fields, an empty CEG (the tag is left out)."""
    d = tmp_path / "in"
    d.mkdir()
    gen_header = ("din_instante;id_subsistema;nom_subsistema;id_estado;nom_estado;cod_modalidadeoperacao;"
                  "nom_tipousina;nom_tipocombustivel;nom_usina;id_ons;ceg;val_geracao")
    gen_rows = [
        "2021-05-01 00:00:00;N;NORTE;AM;AMAZONAS;TIPO I;HIDROELÉTRICA;Hidráulica;São João;AMSJ;;106.5",
        '2021-05-01 01:00:00;N;NORTE;AM;AMAZONAS;TIPO I;HIDROELÉTRICA;Hidráulica;"São ""João""";AMSJ;;0E-8',
    ]
    (d / "GERACAO_USINA-2_2021_05.csv").write_bytes(("\r\n".join([gen_header] + gen_rows) + "\r\n").encode("latin-1"))
    (d / "CURVA_CARGA_2021.csv").write_bytes(
        ("\ufeff" + LOAD_HEADER + "\nN;NORTE;2021-05-01 00:00:00;\"5,5\"\nN;NORTE;2021-05-01 01:00:00;10455.81799999").encode("utf-8"))
    data = str(tmp_path / "data")
    r = run_volta("load", "--data", data, str(d))
    assert r.returncode == 0, (r.stdout, r.stderr)
    srv = volta_server("--no-landing", data=data)
    got = rows_of(srv.url, "SELECT * FROM generation")
    assert [(x["time"], x["plant"], x["fuel"], x["plant_type"], x["value"], x.get("ceg")) for x in got] == [
        (local_to_utc_ns("2021-05-01 00:00:00"), "São João", "Hidráulica", "HIDROELÉTRICA", 106.5, None),
        (local_to_utc_ns("2021-05-01 01:00:00"), 'São "João"', "Hidráulica", "HIDROELÉTRICA", 0.0, None)]
    assert {x["tagKey"] for x in rows_of(srv.url, "SHOW TAG KEYS FROM generation")} == set(GEN_TAGS) - {"ceg"}
    got = [(x["time"], x["value"]) for x in rows_of(srv.url, "SELECT value FROM load")]
    assert got == [(local_to_utc_ns("2021-05-01 00:00:00"), 5.5),
                   (local_to_utc_ns("2021-05-01 01:00:00"), float("10455.81799999"))]


# ---- 5. volta load ----------------------------------------------------------------------------


def make_cli_dir(d):
    """A directory of loadable files (CSV, .lp, .lp.gz) plus one volta ignores; returns the
    expected point count per (measurement, field)."""
    os.makedirs(d)
    rows = [(s, "2021-07-%02d %02d:00:00" % (1 + h // 24, h % 24), "%.4f" % (1000 + h * 3.25 + i))
            for h in range(30) for i, s in enumerate(("N", "NE", "S", "SE"))]
    with open(os.path.join(d, "CURVA_CARGA_2021.csv"), "w") as f:
        f.write(synth_load_csv(rows))
    # time ranges apart from each other and from the CSV: a reload of one file re-loads the
    # other loaded files that overlap its range (loader.h), which would change their `loads`
    base = 1627776000 * 10**9  # 2021-08-01
    lp = ["lpm,host=h%d v=%d.5,n=%di %d" % (i % 3, i, i, base + i * 10**9) for i in range(500)]
    base = 1630454400 * 10**9  # 2021-09-01
    with open(os.path.join(d, "points.lp"), "w") as f:
        f.write("\n".join(lp) + "\n")
    lz = ["lpgz,site=s%d,kind=k v=%s %d" % (i % 4, repr(i / 7), base + i * 60 * 10**9) for i in range(777)]
    with gzip.open(os.path.join(d, "more.lp.gz"), "wt") as f:
        f.write("\n".join(lz) + "\n")
    with open(os.path.join(d, "README.txt"), "w") as f:
        f.write("not loaded\n")
    exp = expected_load(os.path.join(d, "CURVA_CARGA_2021.csv"))
    return {"csv": exp, "lpm": len(lp), "lpgz": len(lz),
            "lpgz_sum": sum(i / 7 for i in range(777)), "lpm_n": sum(range(500))}


def check_cli_data(url, exp):
    assert scalar(url, "SELECT count(value) FROM load") == len(exp["csv"].points)
    assert scalar(url, "SELECT count(v) FROM lpm") == exp["lpm"]
    assert scalar(url, "SELECT sum(n) FROM lpm") == exp["lpm_n"]
    assert scalar(url, "SELECT count(v) FROM lpgz") == exp["lpgz"]
    assert scalar(url, "SELECT sum(v) FROM lpgz") == pytest.approx(exp["lpgz_sum"], rel=1e-9)


def test_load_cli_offline_and_host(tmp_path, volta_server):
    d = os.path.realpath(str(tmp_path / "files"))
    exp = make_cli_dir(d)
    files = [os.path.join(d, n) for n in ("CURVA_CARGA_2021.csv", "more.lp.gz", "points.lp")]
    data = str(tmp_path / "data")

    r = run_volta("load", "--data", data, d)
    assert r.returncode == 0, (r.stdout, r.stderr)
    for f in files:
        assert re.search(r"^%s: loaded " % re.escape(f), r.stdout, re.M), r.stdout
    assert "README.txt" not in r.stdout
    r = run_volta("load", "--data", data, d)
    assert r.returncode == 0, (r.stdout, r.stderr)
    for f in files:
        assert re.search(r"^%s: unchanged" % re.escape(f), r.stdout, re.M), r.stdout
    r = run_volta("load", "--data", data, "--force", "--quiet", d)
    assert r.returncode == 0, (r.stdout, r.stderr)
    for f in files:
        assert re.search(r"^%s: reloaded" % re.escape(f), r.stdout, re.M), r.stdout

    srv = volta_server("--no-landing", data=data)
    led = ledger(srv.url)
    assert_ledger_counts(led[files[0]], exp["csv"])
    for f, n, meas in ((files[1], exp["lpgz"], "lp"), (files[2], exp["lpm"], "lp")):
        row = led[f]
        assert (row["state"], row["dataset"], row["rows_read"], row["rows_loaded"], row["points"],
                row["rows_rejected"]) == ("loaded", meas, n, n, n, 0), row
    assert [led[f]["loads"] for f in files] == [2, 2, 2], led
    check_cli_data(srv.url, exp)  # --force did not double anything

    # the data directory is held by the running server
    r = run_volta("load", "--data", data, d)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "in use by a running volta" in r.stderr and "--host" in r.stderr, r.stderr

    # --host: the server loads the (absolute) paths itself
    srv2 = volta_server("--no-landing")
    r = run_volta("load", "--host", srv2.url, d)
    assert r.returncode == 0, (r.stdout, r.stderr)
    for f in files:
        assert re.search(r"^%s: loaded" % re.escape(f), r.stdout, re.M), r.stdout
    check_cli_data(srv2.url, exp)
    led2 = ledger(srv2.url)
    assert all(led2[f]["state"] == "loaded" and led2[f]["loads"] == 1 for f in files), led2
    r = run_volta("load", "--host", srv2.url, d)
    assert r.returncode == 0 and r.stdout.count(": unchanged") == 3, (r.stdout, r.stderr)
    # the API itself wants absolute paths
    resp = requests.post(srv2.url + "/api/v1/load", json={"paths": ["files/points.lp"]}, timeout=30)
    assert resp.status_code == 400 and "absolute path" in resp.json()["error"], resp.text
    # a file volta does not load, given by name
    r = run_volta("load", "--data", str(tmp_path / "data3"), os.path.join(d, "README.txt"))
    assert r.returncode == 1 and "not a file volta loads" in r.stderr, (r.stdout, r.stderr)


# ---- 6. kill -9 during a load -----------------------------------------------------------------


def count_generation(path):
    """(rows, rows with a value, sum of the values) of an ONS generation CSV."""
    rows = nonempty = 0
    total = 0.0
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=";")
        vi = next(reader).index("val_geracao")
        for cells in reader:
            if not cells:
                continue
            rows += 1
            if cells[vi] != "":
                nonempty += 1
                total += float(cells[vi])
    return rows, nonempty, total


def ledger_row_on_disk(data, key, tmp_path):
    """The ledger row of key as a crashed server left it (read from a copy of meta.db)."""
    import sqlite3

    copy = os.path.join(str(tmp_path), "meta-copy")
    os.makedirs(copy, exist_ok=True)
    for suffix in ("", "-wal", "-journal"):
        if os.path.exists(os.path.join(data, "meta.db" + suffix)):
            shutil.copyfile(os.path.join(data, "meta.db" + suffix), os.path.join(copy, "meta.db" + suffix))
    con = sqlite3.connect(os.path.join(copy, "meta.db"))
    try:
        con.row_factory = sqlite3.Row
        r = con.execute("SELECT * FROM files WHERE path = ?", (key,)).fetchone()
        return dict(r) if r else None
    finally:
        con.close()


def kill_mid_load(srv, key):
    """Waits until the ledger shows key `loading` and the journal has grown by a few batches
    since, then SIGKILLs the server. Returns (state seen, journal seq at the kill) or None when
    the load ended before that."""
    try:
        deadline = time.monotonic() + 120
        first_seq = None
        while time.monotonic() < deadline:
            row = ledger(srv.url).get(key)
            if row and row["state"] == "loading":
                seq = health(srv.url)["primary"]["journal_last_seq"]
                first_seq = seq if first_seq is None else first_seq
                if seq >= first_seq + 2:  # a few batches into the file
                    srv.proc.send_signal(signal.SIGKILL)
                    return row["state"], seq
            elif first_seq is not None:
                return None  # finished before we could interrupt it
            time.sleep(0.01)
        return None
    finally:
        srv.kill()


def check_loaded_once(srv, key, counts, loads, plants):
    rows, nonempty, total = counts
    led = wait_ledger(srv, [key], pred=lambda f: f["state"] == "loaded" and f["loads"] == loads, timeout=240)
    row = led[key]
    assert (row["rows_read"], row["rows_loaded"], row["rows_rejected"], row["points"],
            row["empty_values"], row["rows_empty"]) == (
                rows, nonempty, 0, nonempty, rows - nonempty, rows - nonempty), row
    assert [k for k, f in led.items() if f["state"] == "loading"] == []
    # exactly once: nothing doubled, nothing missing, nothing left of a previous version
    assert scalar(srv.url, "SELECT count(value) FROM generation") == nonempty
    assert scalar(srv.url, "SELECT sum(value) FROM generation") == pytest.approx(total, rel=1e-9)
    n_plants = scalar(srv.url, "SELECT count(value) FROM generation WHERE time = %d"
                      % local_to_utc_ns("2024-03-15 12:00:00"))
    assert 0 < n_plants <= plants
    return row


@pytest.fixture
def own_servers():
    """Servers started with start_server in a test: any still running at the end is killed."""
    servers = []
    yield servers
    for srv in servers:
        srv.kill()


def test_kill9_during_landing_load(tmp_path, own_servers):
    plants = int(os.environ.get("VOLTA_INGEST_KILL_PLANTS", "700"))
    data = str(tmp_path / "data")
    landing = str(tmp_path / "landing")
    os.makedirs(landing)
    key = "GERACAO_USINA-2_2024_03.csv"
    dest = os.path.join(landing, key)
    tmpname = os.path.join(landing, ".tmp_x")
    r = run_volta("gen", "--ons-generation", "2024-03", "--plants", plants, "--out", tmpname)
    assert r.returncode == 0, r.stderr
    counts = count_generation(tmpname)
    rows, nonempty, _ = counts
    assert rows > 100000 and 0 < rows - nonempty < rows // 100
    hint = "the load was not caught in state loading (it took too little time): use more plants " \
           "(VOLTA_INGEST_KILL_PLANTS)\n"

    # 1. killed during the first load of the file
    srv = start_server(tmp_path, data, "--landing", landing, name="kill1")
    own_servers.append(srv)
    os.rename(tmpname, dest)
    seen = kill_mid_load(srv, key)
    assert seen, hint + srv.log()[-2000:]
    crashed = ledger_row_on_disk(data, key, tmp_path)
    assert crashed and crashed["state"] == "loading" and crashed["loads"] == 1, crashed
    assert "loaded %s" % key not in srv.log()

    srv = start_server(tmp_path, data, "--landing", landing, name="kill2")
    own_servers.append(srv)
    # the journal records the killed load had written are there (replayed or checkpointed)
    m = re.search(r'"last_seq":(\d+)', srv.log())
    assert m and int(m.group(1)) >= seen[1], srv.log()
    row = check_loaded_once(srv, key, counts, 2, plants)  # the interrupted attempt + one load

    # 2. ONS rewrites the month (another seed: other values, other empty cells); killed during
    # the reload, after the previous version's points were deleted
    r = run_volta("gen", "--ons-generation", "2024-03", "--plants", plants, "--seed", 99, "--out", tmpname)
    assert r.returncode == 0, r.stderr
    counts2 = count_generation(tmpname)
    assert counts2 != counts
    os.rename(tmpname, dest)
    seen = kill_mid_load(srv, key)
    assert seen, hint + srv.log()[-2000:]
    crashed = ledger_row_on_disk(data, key, tmp_path)
    assert crashed and crashed["state"] == "loading" and crashed["loads"] == 3, crashed

    srv = start_server(tmp_path, data, "--landing", landing, name="kill3")
    own_servers.append(srv)
    try:
        row2 = check_loaded_once(srv, key, counts2, 4, plants)
        assert row2["hash"] != row["hash"]
    finally:
        srv.stop()
