"""
kill -9 durability test: clients write batches to a real `volta serve` while the server is killed
with SIGKILL at random moments. After every restart, every acknowledged point (HTTP 204) must be
present (checked with `volta export` on the stopped server) and `volta verify` must pass.

A small memtable makes flushes (segment files + manifest checkpoints) happen during the rounds,
so the kills land in the middle of journal appends, flushes and compactions alike.
"""
import os
import random
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

VOLTA = os.environ.get("VOLTA_BIN", "volta")
ROUNDS = int(os.environ.get("VOLTA_KILL_ROUNDS", "24"))
WRITERS = 3
LINES_PER_BATCH = 200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(datadir, lines=80):
    """The end of the servers' stderr (sanitizer reports land there)."""
    try:
        with open(os.path.join(os.path.dirname(datadir), "server.log"), "rb") as f:
            return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
    except OSError as e:
        return f"(no server.log: {e})"


def start_server(datadir, config):
    port = free_port()
    proc = subprocess.Popen(
        [VOLTA, "serve", "--data", datadir, "--listen", f"127.0.0.1:{port}", "--config", config],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(os.path.dirname(datadir), "server.log"), "ab"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"volta serve exited with {proc.returncode} on start "
                                 f"(see server.log)")
        try:
            if requests.get(url + "/ping", timeout=1).status_code == 204:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("volta serve did not answer /ping within 60 s")


class Writer(threading.Thread):
    """Posts batches of unique points until stopped; remembers the acknowledged ones."""

    def __init__(self, url, writer_id, round_no, acked, lock):
        super().__init__(daemon=True)
        self.url, self.writer_id, self.round_no = url, writer_id, round_no
        self.acked, self.lock = acked, lock
        self.stop = threading.Event()
        self.batch = 0

    def run(self):
        session = requests.Session()
        while not self.stop.is_set():
            base = (self.round_no * 1000 + self.batch) * LINES_PER_BATCH
            lines, keys = [], []
            for i in range(LINES_PER_BATCH):
                ts = (base + i) * 1_000_000_000
                lines.append(f"crash,writer=w{self.writer_id},round=r{self.round_no} "
                             f"value={base + i}i {ts}")
                keys.append((self.writer_id, self.round_no, ts, base + i))
            try:
                r = session.post(self.url + "/write?db=crash", data="\n".join(lines), timeout=10)
            except requests.RequestException:
                return  # server gone: this batch is not acknowledged
            if r.status_code == 204:
                with self.lock:
                    self.acked.update(keys)
            else:
                raise AssertionError(f"write answered {r.status_code}: {r.text}")
            self.batch += 1


def exported_points(datadir):
    out = subprocess.run([VOLTA, "export", "--data", datadir, "--db", "crash"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got = set()
    for line in out.stdout.splitlines():
        if not line or line.startswith("#"):
            continue
        series, field, ts = line.split(" ")
        tags = dict(kv.split("=") for kv in series.split(",")[1:])
        value = int(field.split("=")[1].rstrip("i"))
        got.add((int(tags["writer"][1:]), int(tags["round"][1:]), int(ts), value))
    return got


def verify(datadir):
    out = subprocess.run([VOLTA, "verify", datadir], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"volta verify failed:\n{out.stdout}\n{out.stderr}"


def test_kill9_loses_no_acknowledged_point(tmp_path):
    datadir = str(tmp_path / "data")
    config = str(tmp_path / "volta.toml")
    with open(config, "w") as f:
        f.write("[engine]\nmemtable_bytes = 262144\ncompact_trigger = 4\n"
                "[journal]\nsegment_bytes = 1048576\n")
    rng = random.Random(int(os.environ.get("VOLTA_KILL_SEED", "20261127")))
    acked, lock = set(), threading.Lock()

    proc, url = start_server(datadir, config)
    r = requests.post(url + "/query", params={"q": "CREATE DATABASE crash"})
    assert r.status_code == 200, r.text
    kills = 0
    for round_no in range(ROUNDS):
        writers = [Writer(url, w, round_no, acked, lock) for w in range(WRITERS)]
        for w in writers:
            w.start()
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        for w in writers:
            w.stop.set()
            w.join(timeout=30)
            assert not w.is_alive()
        # every other round, a second kill right after the restart (during or just after replay)
        if round_no % 2 == 1:
            proc, url = start_server(datadir, config)
            time.sleep(rng.uniform(0.0, 0.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        # restart, stop cleanly, and check everything acknowledged so far is there
        proc, url = start_server(datadir, config)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, ("volta serve did not shut down cleanly on SIGTERM; "
                                             "server.log ends:\n" + log_tail(datadir))
        verify(datadir)
        got = exported_points(datadir)
        with lock:
            missing = acked - got
        assert not missing, (f"round {round_no}: {len(missing)} acknowledged points lost, "
                             f"e.g. {sorted(missing)[:5]}")
        proc, url = start_server(datadir, config)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0, "server.log ends:\n" + log_tail(datadir)
    verify(datadir)
    assert kills >= ROUNDS
    assert len(acked) > ROUNDS * LINES_PER_BATCH, "too few writes were acknowledged to mean anything"
    print(f"{kills} kills, {len(acked)} acknowledged points, none lost")
