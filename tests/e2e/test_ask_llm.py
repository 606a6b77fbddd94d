"""Optional phrasing of answers by an OpenAI-compatible endpoint (docs/ASK.md, "Phrasing by a
language model"; src/ask/ask_llm.c).

A tiny OpenAI-compatible server runs in this test (http.server on a free loopback port) and
answers POST /v1/chat/completions as the test tells it: a faithful rephrasing, one with an
invented number, a slow answer, or an HTTP error. volta runs with `--config` holding an [ask]
section pointing at it. The data set is written here: one day of hourly Northeast load with a
known peak (12617.213 MW at 15:00 Brasília time on 2024-03-13), asked about with a fixed "now".

What must hold: "answer", "value" and "rows" are volta's whatever the model says; "phrased" is
accepted only when every number it writes is volta's; a slow or failing endpoint never blocks or
breaks the answer; with no [ask] url nothing is sent anywhere and there is no "phrased".
"""
import datetime as dt
import http.server
import json
import os
import subprocess
import threading
import time

import pytest
import requests

from conftest import free_port, volta_bin

NOW = "2024-03-14T15:30:00-03:00"
QUESTION = "Qual foi o pico de carga no Nordeste ontem?"
PEAK = 12617.213
PEAK_PT = "12.617,2 MW"
SRC = os.environ.get("VOLTA_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def data_lines():
    """Hourly NE load on 2024-03-13 (Brasília, UTC-3 in 2024): a peak at 15:00, and one plant."""
    start = dt.datetime(2024, 3, 13, 3, 0, tzinfo=dt.timezone.utc)
    lines = []
    for h in range(24):
        t = int((start + dt.timedelta(hours=h)).timestamp()) * 10**9
        v = PEAK if h == 15 else 9000.0 + 37.25 * h
        lines.append("load,subsystem=NE value=%r %d" % (v, t))
        lines.append("load,subsystem=SE value=%r %d" % (40000.0 + h, t))
    t0 = int(start.timestamp()) * 10**9
    lines.append("generation,plant=UHE\\ Teste,plant_type=HIDROELETRICA,subsystem=NE value=100.0 %d" % t0)
    return "\n".join(lines) + "\n"


# ---- the fake endpoint ----------------------------------------------------------------------------


class FakeLLM:
    """A loopback OpenAI-compatible endpoint. `reply(user_message) -> (status, text)` decides the
    answer; `delay` seconds are waited first. Every request is recorded."""

    def __init__(self):
        self.requests = []
        self.reply = lambda user: (200, "ok")
        self.delay = 0.0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body)})
                if fake.delay:
                    time.sleep(fake.delay)
                msgs = fake.requests[-1]["body"]["messages"]
                status, text = fake.reply(msgs[-1]["content"])
                if status == 200:
                    doc = {"id": "chatcmpl-1", "object": "chat.completion", "model": "fake-1",
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": text}}]}
                else:
                    doc = {"error": {"message": text, "type": "server_error"}}
                out = json.dumps(doc).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # volta gave up (timeout)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake():
    f = FakeLLM()
    yield f
    f.close()


def start(volta_server, tmp_path, ask_section):
    cfg = tmp_path / ("volta-%d.toml" % len(list(tmp_path.glob("volta-*.toml"))))
    cfg.write_text('[journal]\nfsync = "never"\n' + ask_section)
    srv = volta_server("--config", str(cfg), "--no-landing")
    assert requests.post(srv.url + "/query", data={"q": "CREATE DATABASE ons"}).status_code == 200
    r = requests.post(srv.url + "/write", params={"db": "ons"}, data=data_lines().encode())
    assert r.status_code == 204, r.text
    return srv


def ask(srv):
    r = requests.post(srv.url + "/query", json={"question": QUESTION, "now": NOW}, timeout=120)
    return r.status_code, r.json()


def ask_section(url, **extra):
    s = '[ask]\nurl = "%s"\nmodel = "fake-model"\n' % url
    for k, v in extra.items():
        s += "%s = %s\n" % (k, json.dumps(v))
    return s


def assert_volta_answer(doc):
    """The deterministic part is volta's, whatever the model said."""
    assert doc["kind"] == "data"
    assert doc["value"] == pytest.approx(PEAK)
    assert doc["unit"] == "MW"
    assert PEAK_PT in doc["answer"] and doc["answer"].startswith("Pico de carga no Nordeste")
    assert any(row["value"] == pytest.approx(PEAK) for row in doc["rows"])
    assert doc["rows_total"] == 24


# ---- (a) a faithful rephrasing ----------------------------------------------------------------------


def test_faithful_phrasing_accepted(volta_server, tmp_path, fake):
    srv = start(volta_server, tmp_path, ask_section(fake.url, api_key="sk-test-123"))

    def reply(user):
        # volta's own numbers, one rounded, the date group by group
        return 200, "Ontem (13/03/2024) a carga do Nordeste chegou a cerca de 12.617 MW (12,6 GW) às 15:00."

    fake.reply = reply
    status, doc = ask(srv)
    assert status == 200, doc
    assert_volta_answer(doc)
    ph = doc["phrased"]
    assert ph["accepted"] is True, ph
    assert ph["model"] == "fake-model"
    assert ph["text"].startswith("Ontem (13/03/2024)")
    # what was sent: one chat request with the question, volta's sentence and its rows
    assert len(fake.requests) == 1
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"].get("Authorization") == "Bearer sk-test-123"
    assert req["body"]["model"] == "fake-model"
    roles = [m["role"] for m in req["body"]["messages"]]
    assert roles == ["system", "user"]
    user = req["body"]["messages"][1]["content"]
    assert QUESTION in user and doc["answer"] in user and "12617.213" in user


# ---- (b) an invented number -----------------------------------------------------------------------


def test_invented_number_refused(volta_server, tmp_path, fake):
    srv = start(volta_server, tmp_path, ask_section(fake.url))
    fake.reply = lambda user: (200, "O pico de carga do Nordeste ontem foi de 13.842 MW, um recorde.")
    status, doc = ask(srv)
    assert status == 200, doc
    assert_volta_answer(doc)
    ph = doc["phrased"]
    assert ph["accepted"] is False
    assert ph["text"] is None
    assert "13.842" in ph["reason"]
    assert "13.842" not in json.dumps(doc["answer"])


# ---- (c) endpoint slow, failing, or down ------------------------------------------------------------


def test_slow_endpoint_times_out(volta_server, tmp_path, fake):
    srv = start(volta_server, tmp_path, ask_section(fake.url, timeout_ms=300))
    fake.delay = 5.0
    fake.reply = lambda user: (200, "O pico foi de 12.617,2 MW.")
    status, doc = ask(srv)
    assert status == 200, doc
    assert_volta_answer(doc)
    assert doc["phrased"]["accepted"] is False
    assert doc["phrased"]["text"] is None
    assert "timeout" in doc["phrased"]["reason"]


def test_http_error_and_down(volta_server, tmp_path, fake):
    srv = start(volta_server, tmp_path, ask_section(fake.url))
    fake.reply = lambda user: (500, "model overloaded")
    status, doc = ask(srv)
    assert status == 200, doc
    assert_volta_answer(doc)
    assert doc["phrased"]["accepted"] is False
    assert "HTTP 500" in doc["phrased"]["reason"] and "model overloaded" in doc["phrased"]["reason"]
    answer = doc["answer"]

    down_url = "http://127.0.0.1:%d" % free_port()  # nothing listens there
    srv2 = start(volta_server, tmp_path, ask_section(down_url))
    status, doc = ask(srv2)
    assert status == 200, doc
    assert_volta_answer(doc)
    assert doc["answer"] == answer
    assert doc["phrased"]["accepted"] is False
    assert down_url in doc["phrased"]["reason"]


# ---- (d) off by default ------------------------------------------------------------------------------


def test_no_url_sends_nothing(volta_server, tmp_path, fake):
    fake.reply = lambda user: (200, "should never be asked")
    srv = start(volta_server, tmp_path, "")  # no [ask] section
    status, doc = ask(srv)
    assert status == 200, doc
    assert_volta_answer(doc)
    assert "phrased" not in doc
    # a docs question neither
    r = requests.post(srv.url + "/query", json={"question": "como faço rollback?"})
    assert r.status_code in (200, 422)
    assert "phrased" not in r.json()
    # an [ask] section with only the docs directory: still off
    srv2 = start(volta_server, tmp_path, '[ask]\ndocs = "%s"\n' % os.path.join(SRC, "docs"))
    status, doc = ask(srv2)
    assert status == 200 and "phrased" not in doc
    assert fake.requests == []


def test_docs_answer_phrased(volta_server, tmp_path, fake):
    srv = start(volta_server, tmp_path, ask_section(fake.url, docs=os.path.join(SRC, "docs")))
    fake.reply = lambda user: (200, "Use volta rollback; see the runbook.")
    r = requests.post(srv.url + "/query", json={"question": "how do I roll back?"})
    doc = r.json()
    assert r.status_code == 200, doc
    assert doc["kind"] == "docs"
    assert doc["docs_dir"] == os.path.join(SRC, "docs")  # [ask] docs is wired
    assert doc["phrased"]["accepted"] is True
    user = fake.requests[-1]["body"]["messages"][1]["content"]
    assert "Passage [" in user


# ---- the config and the command line ---------------------------------------------------------------


def test_config_url_without_model_is_refused(tmp_path):
    cfg = tmp_path / "volta.toml"
    cfg.write_text('[ask]\nurl = "http://127.0.0.1:9"\n')
    p = subprocess.run([volta_bin(), "serve", "--data", str(tmp_path / "d"), "--listen", "127.0.0.1:0",
                        "--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "needs model" in p.stderr


def test_cli_data_path(volta_server, tmp_path, fake):
    srv = start(volta_server, tmp_path, "")
    srv.stop()
    fake.reply = lambda user: (200, "Pico de 12.617,2 MW no Nordeste em 13/03/2024.")
    env = dict(os.environ, VOLTA_LLM_API_KEY="sk-cli")
    p = subprocess.run([volta_bin(), "ask", "--data", srv.data, "--now", NOW, "--json",
                        "--llm-url", fake.url, "--llm-model", "cli-model", QUESTION],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert_volta_answer(doc)
    assert doc["phrased"] == {"text": "Pico de 12.617,2 MW no Nordeste em 13/03/2024.", "model": "cli-model",
                              "accepted": True, "reason": doc["phrased"]["reason"]}
    assert fake.requests[-1]["headers"].get("Authorization") == "Bearer sk-cli"
    # human output prints the phrasing after volta's sentence
    p = subprocess.run([volta_bin(), "ask", "--data", srv.data, "--now", NOW,
                        "--llm-url", fake.url, "--llm-model", "cli-model", QUESTION],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.index(PEAK_PT) < p.stdout.index("(phrased by cli-model)")
    # the flags are for --data only, and go together
    p = subprocess.run([volta_bin(), "ask", "--llm-url", fake.url, "--llm-model", "m", QUESTION],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--data" in p.stderr
    p = subprocess.run([volta_bin(), "ask", "--data", srv.data, "--llm-url", fake.url, QUESTION],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "go together" in p.stderr
