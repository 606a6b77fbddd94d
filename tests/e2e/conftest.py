"""Shared fixtures for volta's end-to-end tests.

`volta_server` is a factory: each call starts `$VOLTA_BIN serve --data <dir> --listen
127.0.0.1:<free port> [extra args]`, waits until GET /ping answers 204 and returns a VoltaServer
(url, port, data, proc, log(), stop(), kill()). On teardown every server still running gets
SIGTERM and must exit with code 0.

    def test_x(volta_server):
        srv = volta_server()                       # fresh data dir
        srv2 = volta_server("--config", cfg_path)  # extra arguments
        srv.stop()                                 # SIGTERM, asserts exit 0
        again = volta_server(data=srv.data)        # restart on the same data
"""
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest


def volta_bin():
    path = os.environ.get("VOLTA_BIN")
    if path:
        return path
    src = os.environ.get(
        "VOLTA_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    )
    for cand in ("build/volta", "build-server/volta"):
        p = os.path.join(src, cand)
        if os.path.exists(p):
            return p
    found = shutil.which("volta")
    if found:
        return found
    pytest.fail("VOLTA_BIN is not set and no built volta binary was found")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VoltaServer:
    def __init__(self, proc, port, data, log_path):
        self.proc = proc
        self.port = port
        self.host = "127.0.0.1"
        self.url = "http://127.0.0.1:%d" % port
        self.data = data
        self.log_path = log_path

    @property
    def running(self):
        return self.proc.poll() is None

    def log(self):
        """Everything the server wrote on stderr so far."""
        with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60, expect_rc=0):
        """Sends sig (SIGTERM by default), waits, and asserts the exit code. Returns it."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail("volta serve did not stop within %ss after %s\n%s" % (timeout, sig, self.log()))
        rc = self.proc.returncode
        if expect_rc is not None:
            assert rc == expect_rc, "volta serve exited with %r (want %r)\n%s" % (rc, expect_rc, self.log())
        return rc

    def kill(self):
        """kill -9: no clean shutdown (crash tests)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


def _wait_ready(srv, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            pytest.fail("volta serve exited with %r before answering /ping\n%s" % (srv.proc.returncode, srv.log()))
        try:
            with urllib.request.urlopen(srv.url + "/ping", timeout=2) as r:
                if r.status == 204:
                    return
                last = "status %d" % r.status
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            last = repr(e)
        time.sleep(0.05)
    srv.kill()
    pytest.fail("volta serve did not answer /ping within %ss (%s)\n%s" % (timeout, last, srv.log()))


@pytest.fixture
def volta_server(tmp_path_factory):
    started = []

    def start(*extra_args, data=None, env=None, ready_timeout=30.0):
        if data is None:
            data = str(tmp_path_factory.mktemp("volta-data"))
        logdir = tmp_path_factory.mktemp("volta-log")
        last_err = None
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()
            log_path = os.path.join(str(logdir), "serve-%d.log" % port)
            args = [volta_bin(), "serve", "--data", data, "--listen", "127.0.0.1:%d" % port]
            args += [str(a) for a in extra_args]
            full_env = dict(os.environ)
            if env:
                full_env.update(env)
            with open(log_path, "wb") as logf:
                proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=full_env)
            srv = VoltaServer(proc, port, data, log_path)
            # early exit because of the port: try another one
            time.sleep(0.05)
            if proc.poll() is not None and "Address already in use" in srv.log():
                last_err = srv.log()
                continue
            started.append(srv)
            _wait_ready(srv, ready_timeout)
            return srv
        pytest.fail("could not bind a free port:\n%s" % last_err)

    yield start

    failures = []
    for srv in started:
        if srv.running:
            srv.proc.send_signal(signal.SIGTERM)
            try:
                srv.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                srv.proc.kill()
                srv.proc.wait()
                failures.append("did not stop after SIGTERM\n" + srv.log())
                continue
            if srv.proc.returncode != 0:
                failures.append("exit code %r after SIGTERM\n%s" % (srv.proc.returncode, srv.log()))
    assert not failures, "\n".join(failures)


# ---- differential testing against a real InfluxDB (tests/e2e/influxref.py) ------------------------
# `influxd_server`: one real InfluxDB 1.6.7 per test session (skips when influxd is not installed;
# $INFLUXD overrides the binary). `volta_session_server`: one volta per test session (journal fsync
# off), for suites that share a loaded data set across many tests (test_influxql_diff, test_clients).


@pytest.fixture(scope="session")
def influxd_server():
    import influxref

    if influxref.influxd_path() is None:
        pytest.skip("influxd (InfluxDB 1.x) is not installed: set INFLUXD or install /usr/bin/influxd")
    ref = influxref.InfluxRef.start()
    yield ref
    ref.stop()


@pytest.fixture(scope="session")
def volta_session_server(tmp_path_factory):
    data = str(tmp_path_factory.mktemp("volta-session-data"))
    logdir = tmp_path_factory.mktemp("volta-session-log")
    cfg = os.path.join(str(logdir), "volta.toml")
    with open(cfg, "w") as f:
        f.write('[journal]\nfsync = "never"\n')
    srv = None
    for _attempt in range(3):
        port = free_port()
        log_path = os.path.join(str(logdir), "serve-%d.log" % port)
        args = [volta_bin(), "serve", "--data", data, "--listen", "127.0.0.1:%d" % port, "--config", cfg]
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        srv = VoltaServer(proc, port, data, log_path)
        time.sleep(0.05)
        if proc.poll() is not None and "Address already in use" in srv.log():
            srv = None
            continue
        break
    if srv is None:
        pytest.fail("could not bind a free port for volta serve")
    _wait_ready(srv, 30.0)
    yield srv
    srv.stop()
