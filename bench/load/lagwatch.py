#!/usr/bin/env python3
"""lagwatch — samples a volta server's /health every INTERVAL seconds (default 0.1) and writes one
CSV row per sample for one backend:

    bench/load/lagwatch.py URL BACKEND OUT.csv [--interval S]

Columns: t (unix seconds, CLOCK_REALTIME, as lppace prints), state, cursor, primary_seq,
lag_records, lag_seconds, applied_records, failures, health_ms (how long /health took).
Runs until SIGTERM/SIGINT; a failed request is written as state "error" (the run goes on).
The schedule is absolute (t0 + k * interval), so slow answers do not stretch it.
"""
import http.client
import json
import signal
import sys
import time
import urllib.parse

stop = False


def _stop(_signum, _frame):
    global stop
    stop = True


def main():
    args = sys.argv[1:]
    interval = 0.1
    if "--interval" in args:
        i = args.index("--interval")
        interval = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, backend, out = args
    u = urllib.parse.urlsplit(url)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    conn = None
    with open(out, "w", buffering=1) as f:
        f.write("t,state,cursor,primary_seq,lag_records,lag_seconds,applied_records,failures,health_ms\n")
        t0 = time.time()
        k = 0
        while not stop:
            t = time.time()
            row = None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
                conn.request("GET", "/health")
                r = conn.getresponse()
                body = r.read()
                ms = (time.time() - t) * 1000.0
                d = json.loads(body)
                for b in d.get("backends", []):
                    if b.get("name") == backend:
                        row = "%.3f,%s,%d,%d,%d,%.3f,%d,%d,%.1f\n" % (
                            t, b["state"], b["cursor"], b["primary_seq"], b["lag_records"],
                            b["lag_seconds"], b["applied_records"], b["failures"], ms)
                if row is None:
                    row = "%.3f,nobackend,0,0,0,0,0,0,%.1f\n" % (t, ms)
            except (OSError, ValueError, http.client.HTTPException):
                conn = None
                row = "%.3f,error,0,0,0,0,0,0,0\n" % t
            f.write(row)
            k += 1
            nxt = t0 + k * interval
            while True:
                d = nxt - time.time()
                if d <= 0 or stop:
                    break
                time.sleep(min(d, 0.05))
    return 0


if __name__ == "__main__":
    sys.exit(main())
