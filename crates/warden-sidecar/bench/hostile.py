#!/usr/bin/env python3
"""Hostile loads against a live `warden authorizer`, with the server's peak memory and threads.

Each load runs against a fresh server process (VmHWM is a high-water mark), on loopback only,
with a bounded number of requests. A watchdog reads /proc/PID/status every 20 ms and kills the
server when its resident memory passes --kill-rss-mib (default 4096), so even a server without
limits cannot take the machine down.

Usage (from the repository root):
  cargo build -p warden-sidecar --example authorizer
  python3 crates/warden-sidecar/bench/hostile.py [--bin target/debug/examples/authorizer] [LOAD...]

Loads: huge-simulate, product-simulate, oversized-batch, concurrent-batches,
concurrent-simulates, concurrent-wide-simulates (each evaluation matches a statement), busy-health
(default: all). Prints one line per load: statuses, seconds,
VmHWM, the most threads seen, and for busy-health the slowest /healthz answer.
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

ALICE = "arn:aws:iam::111122223333:user/alice"
NOTE = "arn:aws:notes:us-east-1:111122223333:note/"
HERE = os.path.dirname(os.path.abspath(__file__))
POLICIES = os.path.join(os.path.dirname(HERE), "examples", "policies")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_of(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
    except OSError:
        return None
    return fields


def kib(v):
    return int(v.split()[0]) if v else 0


class Server:
    def __init__(self, binary, extra, kill_rss_mib):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--policies", POLICIES, "--listen", f"127.0.0.1:{self.port}", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.max_threads = 0
        self.hwm_kib = 0
        self.killed = False
        self.stop = threading.Event()
        self.kill_kib = kill_rss_mib * 1024
        self.watch = threading.Thread(target=self._watch, daemon=True)
        self.watch.start()
        for _ in range(200):
            try:
                if request(self.port, "GET", "/readyz", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the server did not start")

    def _watch(self):
        while not self.stop.is_set():
            st = status_of(self.proc.pid)
            if st is None or self.proc.poll() is not None:
                return
            self.max_threads = max(self.max_threads, int(st.get("Threads", "0")))
            self.hwm_kib = max(self.hwm_kib, kib(st.get("VmHWM")))
            if kib(st.get("VmRSS")) > self.kill_kib:
                self.killed = True
                self.proc.kill()
                return
            time.sleep(0.02)

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        self.stop.set()
        self.watch.join()
        st = status_of(self.proc.pid)
        if st:
            self.hwm_kib = max(self.hwm_kib, kib(st.get("VmHWM")))
        alive = self.alive()
        if alive:
            self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return alive, err.decode(errors="replace")


def request(port, method, path, body=None, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"content-type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data
    finally:
        conn.close()


def try_request(port, method, path, body=None, timeout=120):
    try:
        return request(port, method, path, body, timeout)[0]
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__


def simulate_body(actions, resources, policies=None):
    body = {
        "PolicySourceArn": ALICE,
        "ActionNames": [f"notes:Action{i}" for i in range(actions)],
        "ResourceArns": [f"{NOTE}n{i}" for i in range(resources)],
    }
    if policies:
        body["PolicyInputList"] = policies
    return json.dumps(body).encode()


def heavy_policy(statements):
    """A policy whose every statement applies to every request and whose condition fails, so each
    evaluation walks all statements and matches none (the answer stays small)."""
    stmts = [
        {
            "Effect": "Allow",
            "Action": "notes:*",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:PrincipalTag/team": [f"*x{i}*y*", f"*z{i}*"]}},
        }
        for i in range(statements)
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": stmts})


def batch_body(n):
    one = {"principal": ALICE, "action": "notes:GetNote", "resource": f"{NOTE}public/todo"}
    return json.dumps({"requests": [one] * n}).encode()


def concurrently(n, fn):
    results = [None] * n
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, fn(i))) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def custom_body(actions, resources):
    """SimulateCustomPolicy (no identity needed) with short names and an Allow-everything policy,
    so every evaluation matches one statement."""
    allow_all = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
    body = {
        "PolicyInputList": [allow_all],
        "ActionNames": [f"s:a{i}" for i in range(actions)],
        "ResourceArns": [f"arn:aws:s3:::{i}" for i in range(resources)],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def load_huge_simulate(port):
    body = custom_body(40_000, 20_000)
    return {"body_kib": len(body) // 1024, "status": [try_request(port, "POST", "/v1/simulate", body)]}


def load_product_simulate(port):
    body = custom_body(400, 400)
    return {"body_kib": len(body) // 1024, "status": [try_request(port, "POST", "/v1/simulate", body)]}


def load_oversized_batch(port):
    body = batch_body(5_000)
    return {"body_kib": len(body) // 1024, "status": [try_request(port, "POST", "/v1/authorize/batch", body)]}


def load_concurrent_batches(port):
    body = batch_body(1_000)
    return {"status": concurrently(8, lambda _: try_request(port, "POST", "/v1/authorize/batch", body))}


def load_concurrent_simulates(port):
    body = simulate_body(100, 100)
    return {"status": concurrently(16, lambda _: try_request(port, "POST", "/v1/simulate", body))}


def load_concurrent_wide_simulates(port):
    body = custom_body(100, 100)
    return {"status": concurrently(16, lambda _: try_request(port, "POST", "/v1/simulate", body))}


def load_busy_health(port):
    body = simulate_body(100, 100, [heavy_policy(200)])
    out = {}
    worker = threading.Thread(
        target=lambda: out.__setitem__(
            "status", concurrently(4, lambda _: try_request(port, "POST", "/v1/simulate", body, timeout=300))
        )
    )
    worker.start()
    time.sleep(0.5)
    slowest, failures = 0.0, 0
    for _ in range(20):
        started = time.monotonic()
        if try_request(port, "GET", "/healthz", timeout=10) != 200:
            failures += 1
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.1)
    worker.join()
    out["healthz_slowest_s"] = round(slowest, 3)
    out["healthz_failures"] = failures
    return out


LOADS = {
    "huge-simulate": load_huge_simulate,
    "product-simulate": load_product_simulate,
    "oversized-batch": load_oversized_batch,
    "concurrent-batches": load_concurrent_batches,
    "concurrent-simulates": load_concurrent_simulates,
    "concurrent-wide-simulates": load_concurrent_wide_simulates,
    "busy-health": load_busy_health,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="target/debug/examples/authorizer")
    p.add_argument("--kill-rss-mib", type=int, default=4096)
    p.add_argument("--server-arg", action="append", default=[])
    p.add_argument("loads", nargs="*", default=list(LOADS))
    args = p.parse_args()
    for name in args.loads:
        server = Server(args.bin, args.server_arg, args.kill_rss_mib)
        started = time.monotonic()
        result = LOADS[name](server.port)
        took = time.monotonic() - started
        time.sleep(0.1)
        alive, stderr = server.close()
        summary = {
            "load": name,
            **result,
            "seconds": round(took, 2),
            "alive": alive,
            "killed_by_watchdog": server.killed,
            "vmhwm_mib": round(server.hwm_kib / 1024, 1),
            "max_threads": server.max_threads,
        }
        last = [l for l in stderr.splitlines() if "memory allocation" in l]
        if last:
            summary["stderr"] = last[-1]
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    sys.exit(main())
