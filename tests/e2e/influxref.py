"""Start and stop a real InfluxDB 1.6.7 (the reference for volta's differential tests).

    ref = InfluxRef.start()          # temp dir, free loopback ports, waits for /ping
    ref.url                          # "http://127.0.0.1:<port>"
    ref.stop()                       # SIGTERM (SIGKILL after a timeout), removes the temp dir

Binary: $INFLUXD, else /usr/bin/influxd, else `influxd` on PATH; `influxd_path()` returns None when
none exists (callers skip). Both the HTTP listener and the RPC bind-address are on 127.0.0.1; usage
reporting, the monitor store, retention enforcement, continuous queries and subscribers are off;
logging is at "warn" and goes to <dir>/influxd.log. Usable from pytest (conftest fixture
`influxd_server`) and from scripts (tests/e2e/influxql_diff.py --start-influx).
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CONFIG = """reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"

[meta]
  dir = "{dir}/meta"
  logging-enabled = false

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http}"
  auth-enabled = false
  log-enabled = false
  write-tracing = false
  pprof-enabled = false
  max-row-limit = 0

[logging]
  level = "warn"
  suppress-logo = true

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
"""


def influxd_path():
    """Path of the influxd binary, or None when it is not installed."""
    env = os.environ.get("INFLUXD")
    if env:
        return env if os.path.exists(env) else None
    if os.path.exists("/usr/bin/influxd"):
        return "/usr/bin/influxd"
    return shutil.which("influxd")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class InfluxRef:
    def __init__(self, proc, port, rpc_port, tmpdir, owns_dir):
        self.proc = proc
        self.port = port
        self.rpc_port = rpc_port
        self.host = "127.0.0.1"
        self.url = "http://127.0.0.1:%d" % port
        self.dir = tmpdir
        self._owns_dir = owns_dir

    @property
    def running(self):
        return self.proc.poll() is None

    def log(self):
        try:
            with open(os.path.join(self.dir, "influxd.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @classmethod
    def start(cls, binary=None, workdir=None, ready_timeout=60.0):
        binary = binary or influxd_path()
        if not binary:
            raise RuntimeError("influxd not found (set INFLUXD)")
        owns = workdir is None
        tmpdir = workdir or tempfile.mkdtemp(prefix="volta-influxref-")
        last = ""
        for _attempt in range(3):  # a probed port can be taken before influxd binds it
            http, rpc = _free_port(), _free_port()
            if http == rpc:
                continue
            conf = os.path.join(tmpdir, "influxd.conf")
            with open(conf, "w") as f:
                f.write(CONFIG.format(dir=tmpdir, http=http, rpc=rpc))
            logf = open(os.path.join(tmpdir, "influxd.log"), "ab")
            proc = subprocess.Popen([binary, "run", "-config", conf], stdin=subprocess.DEVNULL,
                                    stdout=logf, stderr=subprocess.STDOUT)
            logf.close()
            ref = cls(proc, http, rpc, tmpdir, owns)
            if ref._wait_ping(ready_timeout):
                return ref
            last = ref.log()
            ref.stop(remove=False)
        if owns:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise RuntimeError("influxd did not answer /ping:\n" + last[-3000:])

    def _wait_ping(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=2) as r:
                    if r.status == 204:
                        return True
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        return False

    def stop(self, timeout=30, remove=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if remove and self._owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop influxd on SIGTERM too
    r = InfluxRef.start()
    print(r.url, flush=True)
    try:
        while r.running:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    r.stop()
