"""Questions in plain language: POST /query {"question": ...} and `volta ask` (docs/ASK.md).

A fixed data set (`volta gen --start 2024-02-20 --days 25 --plants 30 --seed 7`) is loaded into
database "ons" of one server; every question is asked with a fixed "now" (2024-03-14 15:30,
Brasília). Each expected number is computed here, independently of the answerer: the raw points
are read once with plain InfluxQL (`SELECT * FROM <measurement>`) and filtered, summed per hour,
aggregated and ranked in Python, with Brasília days from zoneinfo.
"""
import datetime as dt
import json
import os
import subprocess
from zoneinfo import ZoneInfo

import pytest
import requests

from conftest import volta_bin

TZ = ZoneInfo("America/Sao_Paulo")
NOW = dt.datetime(2024, 3, 14, 15, 30, tzinfo=TZ)
NOW_S = NOW.isoformat()
HOUR = 3600 * 10**9
TYPES = {"HIDROELETRICA": "hydro", "TERMICA": "thermal", "EOLICA": "wind", "FOTOVOLTAICA": "solar", "NUCLEAR": "nuclear"}


def ns(d):
    return int(d.timestamp()) * 10**9


def day(y, m, d):
    return dt.datetime(y, m, d, tzinfo=TZ)


# ---- the data set ---------------------------------------------------------------------------------


class Data:
    def __init__(self, url):
        self.url = url
        self.raw = {}
        for m in ("generation", "load", "interchange"):
            r = requests.get(url + "/query", params={"db": "ons", "q": "SELECT * FROM %s" % m, "epoch": "ns"})
            assert r.status_code == 200, r.text
            s = r.json()["results"][0]["series"][0]
            cols = s["columns"]
            self.raw[m] = [dict(zip(cols, row)) for row in s["values"]]
        self.plants = sorted({p["plant"] for p in self.raw["generation"]})

    def points(self, m, sub=None, src=None, fuel=None, plant=None):
        out = []
        for p in self.raw[m]:
            if sub and p.get("subsystem") not in sub:
                continue
            if src and TYPES.get(p.get("plant_type")) not in src:
                continue
            if fuel and p.get("fuel") != fuel:
                continue
            if plant and p.get("plant") != plant:
                continue
            out.append(p)
        return out

    def latest_hour(self, pts):
        t = max(p["time"] for p in pts)
        return t - t % HOUR


def hourly(pts, start, end, sign=lambda p: 1.0):
    h = {}
    for p in pts:
        if start <= p["time"] < end:
            h[p["time"]] = h.get(p["time"], 0.0) + sign(p) * p["value"]
    return sorted(h.items())


def agg(vals, how):
    vs = [v for _, v in vals]
    if how == "max":
        return max(vs)
    if how == "min":
        return min(vs)
    if how == "sum":
        return sum(vs)
    return sum(vs) / len(vs)


@pytest.fixture(scope="module")
def srv(volta_session_server, tmp_path_factory):
    url = volta_session_server.url
    lp = str(tmp_path_factory.mktemp("askdata") / "data.lp")
    subprocess.run([volta_bin(), "gen", "--start", "2024-02-20", "--days", "25", "--plants", "30",
                    "--seed", "7", "--out", lp], check=True)
    assert requests.post(url + "/query", data={"q": "CREATE DATABASE ons"}).status_code == 200
    with open(lp, "rb") as f:
        body = f.read()
    r = requests.post(url + "/write", params={"db": "ons"}, data=body)
    assert r.status_code == 204, r.text
    return volta_session_server, Data(url)


def ask(url, question, **extra):
    body = {"question": question, "now": NOW_S}
    body.update(extra)
    r = requests.post(url + "/query", json=body)
    return r.status_code, r.json()


def close(a, b):
    return abs(a - b) <= 0.002 + 1e-9 * abs(b)


# ---- the ranges, in Brasília time ---------------------------------------------------------------

R = {
    "today": (ns(day(2024, 3, 14)), ns(NOW)),
    "yesterday": (ns(day(2024, 3, 13)), ns(day(2024, 3, 14))),
    "last_week": (ns(day(2024, 3, 4)), ns(day(2024, 3, 11))),
    "this_week": (ns(day(2024, 3, 11)), ns(NOW)),
    "last_month": (ns(day(2024, 2, 1)), ns(day(2024, 3, 1))),
    "this_month": (ns(day(2024, 3, 1)), ns(NOW)),
    "march": (ns(day(2024, 3, 1)), ns(day(2024, 4, 1))),
    "7d": (ns(NOW) - 7 * 24 * HOUR, ns(NOW)),
    "6h": (ns(NOW) - 6 * HOUR, ns(NOW)),
    "1h": (ns(NOW) - HOUR, ns(NOW)),
    "d0503": (ns(day(2024, 3, 5)), ns(day(2024, 3, 6))),
    "d1003": (ns(day(2024, 3, 10)), ns(day(2024, 3, 11))),
    "h0503_14": (ns(day(2024, 3, 5).replace(hour=14)), ns(day(2024, 3, 5).replace(hour=15))),
    "0103_0503": (ns(day(2024, 3, 1)), ns(day(2024, 3, 6))),
    "0103_0303": (ns(day(2024, 3, 1)), ns(day(2024, 3, 4))),
    "since1003": (ns(day(2024, 3, 10)), ns(NOW)),
}

# (pt, en, spec). spec: m measure; sub/src/fuel filters; t range key or "latest"; a aggregation
# (None = the hour's value or the mean); unit. Interchange: link=(A, B) or net=X.
VALUE_CASES = [
    ("Qual é a geração de energia atual?", "What is the current power generation?",
     dict(m="generation", t="latest", unit="MW")),
    ("Qual a carga do Sudeste agora?", "What is the load in the Southeast now?",
     dict(m="load", sub=["SE"], t="latest", unit="MW")),
    ("Quanto as eólicas do Nordeste estão gerando agora?", "How much wind generation is there in the Northeast right now?",
     dict(m="generation", sub=["NE"], src=["wind"], t="latest", unit="MW")),
    ("Qual foi a carga média ontem?", "What was the average load yesterday?",
     dict(m="load", t="yesterday", a="mean", unit="MWmed")),
    ("Qual foi o pico de carga no Nordeste na semana passada?", "What was the peak load in the Northeast last week?",
     dict(m="load", sub=["NE"], t="last_week", a="max", unit="MW")),
    ("Qual foi a carga mínima do Sul ontem?", "What was the minimum load in the South yesterday?",
     dict(m="load", sub=["S"], t="yesterday", a="min", unit="MW")),
    ("Qual foi a geração total em março de 2024?", "What was the total generation in March 2024?",
     dict(m="generation", t="march", a="sum", unit="MWh")),
    ("Qual a geração hidráulica média nos últimos 7 dias?", "What was the average hydro generation in the last 7 days?",
     dict(m="generation", src=["hydro"], t="7d", a="mean", unit="MWmed")),
    ("Qual a geração solar hoje?", "What is the solar generation today?",
     dict(m="generation", src=["solar"], t="today", a="mean", unit="MWmed")),
    ("Qual o pico de geração térmica esta semana?", "What was the peak thermal generation this week?",
     dict(m="generation", src=["thermal"], t="this_week", a="max", unit="MW")),
    ("Quanto as usinas nucleares geraram em 05/03/2024?", "How much did nuclear plants generate on 2024-03-05?",
     dict(m="generation", src=["nuclear"], t="d0503", a="sum", unit="MWh")),
    ("Qual a carga média entre 01/03/2024 e 05/03/2024?", "What was the average load between 2024-03-01 and 2024-03-05?",
     dict(m="load", t="0103_0503", a="mean", unit="MWmed")),
    ("Qual era a carga do Sul em 05/03/2024 às 14h?", "What was the load in the South on 2024-03-05 at 14:00?",
     dict(m="load", sub=["S"], t="h0503_14", unit="MW")),
    ("Qual a geração na última hora?", "What was the generation in the last hour?",
     dict(m="generation", t="1h", a="mean", unit="MWmed")),
    ("Carga média do Nordeste nas últimas 6 horas", "Average load in the Northeast over the last 6 hours",
     dict(m="load", sub=["NE"], t="6h", a="mean", unit="MWmed")),
    ("Qual foi a carga máxima do Sudeste no mês passado?", "What was the maximum load in the Southeast last month?",
     dict(m="load", sub=["SE"], t="last_month", a="max", unit="MW")),
    ("Qual o intercâmbio entre Norte e Sudeste agora?", "What is the interchange between North and Southeast now?",
     dict(m="interchange", link=("N", "SE"), t="latest", unit="MW")),
    ("Qual foi o intercâmbio médio do Sudeste para o Norte ontem?", "What was the average interchange from Southeast to North yesterday?",
     dict(m="interchange", link=("SE", "N"), t="yesterday", a="mean", unit="MWmed")),
    ("Qual foi o intercâmbio médio do Nordeste ontem?", "What was the average interchange of the Northeast yesterday?",
     dict(m="interchange", net="NE", t="yesterday", a="mean", unit="MWmed")),
    ("Qual foi a carga total ontem?", "What was the total load yesterday?",
     dict(m="load", t="yesterday", a="sum", unit="MWh")),
    ("Geração média a gás em março de 2024", "Average gas generation in March 2024",
     dict(m="generation", fuel="Gas", t="march", a="mean", unit="MWmed")),
    ("Pico de geração no Brasil este mês", "Peak generation in Brazil this month",
     dict(m="generation", t="this_month", a="max", unit="MW")),
    ("Geração solar mínima ontem", "Minimum solar generation yesterday",
     dict(m="generation", src=["solar"], t="yesterday", a="min", unit="MW")),
    ("Carga do Norte em 10 de março de 2024", "Load in the North on March 10, 2024",
     dict(m="load", sub=["N"], t="d1003", a="mean", unit="MWmed")),
    ("Carga média do Sul desde 10/03/2024", "Average load in the South since 2024-03-10",
     dict(m="load", sub=["S"], t="since1003", a="mean", unit="MWmed")),
    ("Qual a geraçao eolca do nordste hoej?", "What is the curent wind generaton in the northeast?",
     dict(m="generation", sub=["NE"], src=["wind"], t=("today", "latest"), a=("mean", None), unit=("MWmed", "MW"))),
    ("QUAL FOI A CARGA DO SUL ONTEM", "WHAT WAS THE LOAD IN THE SOUTH YESTERDAY",
     dict(m="load", sub=["S"], t="yesterday", a="mean", unit="MWmed")),
    ("Qual o consumo de energia do Sudeste/Centro-Oeste ontem?", "What was the consumption of the Southeast yesterday?",
     dict(m="load", sub=["SE"], t="yesterday", a="mean", unit="MWmed")),
]

GROUP_CASES = [
    ("Quais as 5 usinas que mais geraram nos últimos 7 dias?", "Top 5 plants by generation in the last 7 days",
     dict(m="generation", by="plant", t="7d", a="mean", top=5)),
    ("Top 3 usinas eólicas em março de 2024", "Top 3 wind plants in March 2024",
     dict(m="generation", by="plant", src=["wind"], t="march", a="mean", top=3)),
    ("Qual a maior usina agora?", "Which plant is generating the most now?",
     dict(m="generation", by="plant", t="latest", a="mean", top=1)),
    ("Qual subsistema teve a maior carga ontem?", "Which subsystem had the highest load yesterday?",
     dict(m="load", by="subsystem", t="yesterday", a="mean", top=1)),
    ("Qual subsistema teve a menor carga média esta semana?", "Which subsystem had the lowest average load this week?",
     dict(m="load", by="subsystem", t="this_week", a="mean", top=1, asc=True)),
    ("Geração por fonte agora", "Generation by source now",
     dict(m="generation", by="source", t="latest", a="mean", top=0)),
    ("Qual o intercâmbio atual?", "What is the current interchange?",
     dict(m="interchange", by="link", t="latest", a="mean", top=0)),
    ("Participação de cada fonte na geração ontem", "Share of each source in generation yesterday",
     dict(m="generation", by="source", t="yesterday", share=True, top=0)),
    ("Carga por subsistema na semana passada", "Load by subsystem last week",
     dict(m="load", by="subsystem", t="last_week", a="mean", top=0)),
]

SHARE_CASES = [
    ("Qual a participação da energia eólica na geração hoje?", "What is the share of wind in generation today?",
     dict(m="generation", by="source", subject="wind", t="today")),
    ("Participação da solar na geração do Nordeste em março de 2024", "Share of solar in the Northeast generation in March 2024",
     dict(m="generation", by="source", subject="solar", sub=["NE"], t="march")),
    ("Qual a participação do Sudeste na carga na semana passada?", "What is the share of the Southeast in the load last week?",
     dict(m="load", by="subsystem", subject="SE", t="last_week")),
]

PER_CASES = [
    ("Carga média por dia no Sudeste na semana passada", "Average daily load in the Southeast last week",
     dict(m="load", sub=["SE"], t="last_week", a="mean", per="day")),
    ("Geração por hora ontem", "Hourly generation yesterday",
     dict(m="generation", t="yesterday", a="mean", per="hour")),
    ("Geração hidráulica do Sudeste por dia entre 01/03/2024 e 03/03/2024",
     "Hydro generation in the Southeast per day between 2024-03-01 and 2024-03-03",
     dict(m="generation", sub=["SE"], src=["hydro"], t="0103_0303", a="mean", per="day")),
    ("Pico de carga por dia no Nordeste esta semana", "Daily peak load in the Northeast this week",
     dict(m="load", sub=["NE"], t="this_week", a="max", per="day")),
]


def pick(v, lang):
    return v[0 if lang == "pt" else 1] if isinstance(v, tuple) else v


def series_for(data, c):
    if c["m"] == "interchange":
        pts = data.points("interchange")
        if "link" in c:
            a, b = c["link"]
            pts = [p for p in pts if {p["origin"], p["destination"]} == {a, b}]
            return pts, lambda p: 1.0 if p["origin"] == a else -1.0
        x = c["net"]
        pts = [p for p in pts if x in (p["origin"], p["destination"])]
        return pts, lambda p: 1.0 if p["origin"] == x else -1.0
    return data.points(c["m"], c.get("sub"), c.get("src"), c.get("fuel")), lambda p: 1.0


def expected_range(data, pts, t):
    if t == "latest":
        h = data.latest_hour(pts)
        return h, h + HOUR
    return R[t]


def check_range(resp, start, end):
    tr = resp["time_range"]
    assert tr["timezone"] == "America/Sao_Paulo"
    assert ns(dt.datetime.fromisoformat(tr["start"])) == start, (tr, start)
    assert ns(dt.datetime.fromisoformat(tr["end"])) == end, (tr, end)


def check_common(resp, lang):
    assert resp["language"] == lang, resp
    assert resp["answer"], resp
    assert resp["influxql"] and all(isinstance(q, str) and q for q in resp["influxql"])
    assert 0 < resp["confidence"] <= 1
    assert resp["rows"], resp


def params(cases):
    out = []
    for pt, en, spec in cases:
        out.append(pytest.param(pt, "pt", spec, id="pt:" + pt[:40]))
        out.append(pytest.param(en, "en", spec, id="en:" + en[:40]))
    return out


@pytest.mark.parametrize("question,lang,spec", params(VALUE_CASES))
def test_value(srv, question, lang, spec):
    server, data = srv
    status, resp = ask(server.url, question)
    assert status == 200, resp
    check_common(resp, lang)
    pts, sign = series_for(data, spec)
    t = pick(spec["t"], lang)
    a = pick(spec.get("a"), lang)
    start, end = expected_range(data, pts, t)
    check_range(resp, start, end)
    h = hourly(pts, start, end, sign)
    want = agg(h, a or "mean")
    assert resp["unit"] == pick(spec["unit"], lang), resp
    assert close(resp["value"], want), (resp["value"], want, resp["answer"])
    assert resp["rows_total"] == len(h)
    if a in ("max", "min"):
        at = [tt for tt, v in h if v == want][0]
        assert ns(dt.datetime.fromisoformat(resp["at"])) == at


def group_key(p, by):
    if by == "plant":
        return p["plant"]
    if by == "subsystem":
        return p["subsystem"]
    if by == "source":
        return p["plant_type"]
    return "%s->%s" % (p["origin"], p["destination"])


def group_values(data, spec, start, end):
    pts = data.points(spec["m"], spec.get("sub") if not spec.get("subject") or spec["by"] != "subsystem" else None,
                      spec.get("src"))
    groups = {}
    for p in pts:
        groups.setdefault(group_key(p, spec["by"]), []).append(p)
    out = {}
    for g, gp in groups.items():
        if spec["by"] == "plant":
            vals = [(p["time"], p["value"]) for p in gp if start <= p["time"] < end]
        else:
            vals = hourly(gp, start, end)
        if vals:
            out[g] = agg(vals, "sum" if spec.get("share") or spec.get("subject") else spec.get("a", "mean"))
    return out


@pytest.mark.parametrize("question,lang,spec", params(GROUP_CASES))
def test_group(srv, question, lang, spec):
    server, data = srv
    status, resp = ask(server.url, question)
    assert status == 200, resp
    check_common(resp, lang)
    pts = data.points(spec["m"], spec.get("sub"), spec.get("src"))
    start, end = expected_range(data, pts, spec["t"])
    check_range(resp, start, end)
    vals = group_values(data, spec, start, end)
    if spec.get("share"):
        total = sum(vals.values())
        vals = {g: 100.0 * v / total for g, v in vals.items()}
    ranked = sorted(vals.items(), key=lambda kv: (kv[1], kv[0]) if spec.get("asc") else (-kv[1], kv[0]))
    if spec["top"]:
        ranked = ranked[: spec["top"]]
    got = [(v["group"], v["value"]) for v in resp["values"]]
    assert [g for g, _ in got] == [g for g, _ in ranked], (got, ranked)
    for (_, gv), (_, wv) in zip(got, ranked):
        assert close(gv, wv), (gv, wv)
    assert close(resp["value"], ranked[0][1])


@pytest.mark.parametrize("question,lang,spec", params(SHARE_CASES))
def test_share(srv, question, lang, spec):
    server, data = srv
    status, resp = ask(server.url, question)
    assert status == 200, resp
    check_common(resp, lang)
    start, end = R[spec["t"]]
    check_range(resp, start, end)
    vals = group_values(data, spec, start, end)
    total = sum(vals.values())
    if spec["by"] == "source":
        subj = sum(v for g, v in vals.items() if TYPES[g] == spec["subject"])
    else:
        subj = vals[spec["subject"]]
    assert resp["unit"] == "%"
    assert close(resp["value"], 100.0 * subj / total), (resp["value"], 100.0 * subj / total)


@pytest.mark.parametrize("question,lang,spec", params(PER_CASES))
def test_per(srv, question, lang, spec):
    server, data = srv
    status, resp = ask(server.url, question)
    assert status == 200, resp
    check_common(resp, lang)
    start, end = R[spec["t"]]
    check_range(resp, start, end)
    pts = data.points(spec["m"], spec.get("sub"), spec.get("src"))
    h = hourly(pts, start, end)
    buckets = {}
    for t, v in h:
        if spec["per"] == "day":
            d = dt.datetime.fromtimestamp(t / 1e9, TZ).date()
            key = ns(dt.datetime(d.year, d.month, d.day, tzinfo=TZ))
        else:
            key = t
        buckets.setdefault(key, []).append((t, v))
    want = [(k, agg(v, spec["a"])) for k, v in sorted(buckets.items())]
    got = [(ns(dt.datetime.fromisoformat(v["time"])), v["value"]) for v in resp["values"]]
    assert [k for k, _ in got] == [k for k, _ in want]
    for (_, gv), (_, wv) in zip(got, want):
        assert close(gv, wv), (gv, wv)


@pytest.mark.parametrize("lang", ["pt", "en"])
def test_plant(srv, lang):
    server, data = srv
    plant = data.plants[3]
    q = ("Qual foi a geração da usina %s ontem?" if lang == "pt" else "What was the generation of plant %s yesterday?") % plant
    status, resp = ask(server.url, q)
    assert status == 200, resp
    check_common(resp, lang)
    assert resp["interpretation"]["plant"] == plant
    start, end = R["yesterday"]
    h = hourly(data.points("generation", plant=plant), start, end)
    assert close(resp["value"], agg(h, "mean"))


@pytest.mark.parametrize("question", [
    "Qual a cor do céu?",
    "What is the meaning of life?",
    "blablabla xyz qwerty",
    "Quem ganhou o jogo ontem?",
])
def test_not_understood(srv, question):
    server, _ = srv
    status, resp = ask(server.url, question)
    assert status == 422, resp
    assert resp["error"]
    assert len(resp["suggestions"]) >= 3
    assert "value" not in resp and "answer" not in resp


@pytest.mark.parametrize("question,files", [
    ("Como faço rollback?", None),
    ("How do I restore a backup?", {"RESTORE.md", "BACKUP.md"}),
    ("Como restaurar uma cópia de segurança?", {"RESTORE.md", "BACKUP.md"}),
    ("How do I load ONS CSV files?", None),
])
def test_operational(srv, question, files):
    server, _ = srv
    status, resp = ask(server.url, question)
    assert status == 200, resp
    assert resp["kind"] == "docs"
    ps = resp["passages"]
    assert ps
    docs = os.path.join(os.environ.get("VOLTA_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))), "docs")
    for p in ps:
        assert p["file"].endswith(".md") and p["section"] and p["text"]
        with open(os.path.join(docs, p["file"]), encoding="utf-8") as f:
            text = f.read()
        assert p["section"].split(" > ")[-1] in text or p["section"] == p["file"]
    if files:
        assert ps[0]["file"] in files, ps[0]
    assert ps[0]["file"] in resp["answer"]


def test_influxql_forms_unchanged(srv):
    server, _ = srv
    # a client library: Content-Type application/json with q in the URL stays InfluxQL
    r = requests.post(server.url + "/query", params={"db": "ons", "q": "SELECT count(value) FROM load"},
                      headers={"Content-Type": "application/json"}, data="{}")
    assert r.status_code == 200 and "series" in r.json()["results"][0]
    r = requests.post(server.url + "/query", data={"db": "ons", "q": "SELECT count(value) FROM load"})
    assert r.status_code == 200 and "series" in r.json()["results"][0]
    # a JSON body without "question" is not a question
    r = requests.post(server.url + "/query", json={"foo": 1})
    assert r.status_code == 400
    r = requests.post(server.url + "/query", json={"question": 5})
    assert r.status_code == 400


def test_unknown_database(srv):
    server, _ = srv
    status, resp = ask(server.url, "Qual a carga atual?", db="nope")
    assert status == 404 and "database not found" in resp["error"]


def test_cli(srv):
    server, data = srv
    out = subprocess.run([volta_bin(), "ask", "--host", server.url, "--now", NOW_S, "--json",
                          "Qual foi a carga média ontem?"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    resp = json.loads(out.stdout)
    start, end = R["yesterday"]
    assert close(resp["value"], agg(hourly(data.points("load"), start, end), "mean"))
    out = subprocess.run([volta_bin(), "ask", "--host", server.url, "--now", NOW_S,
                          "What was the average load yesterday?"], capture_output=True, text=True)
    assert out.returncode == 0 and "MWmed" in out.stdout and "SELECT" in out.stdout
    out = subprocess.run([volta_bin(), "ask", "--host", server.url, "qual a cor do ceu"],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "questions I can answer" in out.stderr
    out = subprocess.run([volta_bin(), "ask"], capture_output=True, text=True)
    assert out.returncode == 2
    out = subprocess.run([volta_bin(), "ask", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage" in out.stdout
