#!/usr/bin/env python3
"""Benchmark `toolreg guard` against a direct connection, in one run (issue 7):
per-message round trip (median, p99) of N sequential tools/call, and the throughput of
M pipelined calls, on scripts/echo_server.py; then the added latency = guard − direct.

usage: scripts/bench-guard.py [N] [M]      (default 5000 20000; needs target/release/toolreg,
                                           or TOOLREG_BIN=path)

With the audit log three ways (issue 15 §4): a fresh log, a keyed one, and a log that
already holds 100 MB (every append locks the file and reads only its last line, so its
size should not show).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TOOLREG_BIN: another build (an older commit's, for an A/B in one sitting).
toolreg = os.environ.get("TOOLREG_BIN") or os.path.join(here, "target", "release", "toolreg")
echo = [sys.executable, os.path.join(here, "scripts", "echo_server.py")]
n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
m = int(sys.argv[2]) if len(sys.argv) > 2 else 20000


def run(cmd, cwd, **kw):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, **kw)


def lock_for_echo(work):
    run(["git", "init", "-q", "."], work)
    run(["git", "config", "user.name", "Bench"], work)
    run(["git", "config", "user.email", "bench@example.com"], work)
    run([toolreg, "init"], work)
    run([toolreg, "add", "echo", "--owner", "bench", "--"] + echo, work)
    run([toolreg, "fetch", "echo", "-o", "echo.json"], work)
    run([toolreg, "review", "echo", "--catalog", "echo.json", "--approve"], work)
    run([toolreg, "lock"], work)
    return os.path.join(work, "registry", "toolreg.lock")


def session(cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    rd = p.stdout

    def call(i, method, params):
        p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}) + "\n").encode())

    call(0, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}})
    rd.readline()
    p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    call(1, "tools/list", {})
    rd.readline()
    rtts = []
    for i in range(n):
        t = time.perf_counter()
        call(10 + i, "tools/call", {"name": "echo", "arguments": {"text": "x" * 64}})
        rd.readline()
        rtts.append((time.perf_counter() - t) * 1e3)
    # Pipelined: a writer thread, so neither side waits on a full pipe.
    import threading
    base = 10 + n
    payload = [(json.dumps({"jsonrpc": "2.0", "id": base + i, "method": "tools/call",
                            "params": {"name": "echo", "arguments": {"text": "x" * 64}}}) + "\n").encode()
               for i in range(m)]
    t = time.perf_counter()
    w = threading.Thread(target=lambda: [p.stdin.write(line) for line in payload])
    w.start()
    for _ in range(m):
        rd.readline()
    elapsed = time.perf_counter() - t
    w.join()
    p.stdin.close()
    p.wait()
    return rtts, m / elapsed


def p99(values):
    return sorted(values)[int(len(values) * 0.99) - 1]


def fill(big, log, size):
    """`big`: the lines of `log` but its last, repeated up to `size` bytes, then its last
    line. Only the end of a log is read when appending, so only that must chain."""
    with open(log, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    body, last = b"".join(lines[:-1]), lines[-1]
    with open(big, "wb") as f:
        written = 0
        while written < size:
            f.write(body)
            written += len(body)
        f.write(last)


with tempfile.TemporaryDirectory() as work:
    lock = lock_for_echo(work)
    audit = os.path.join(work, "audit.log")
    keyed = os.path.join(work, "keyed.log")
    big = os.path.join(work, "big.log")
    key = os.path.join(work, "audit.key")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    guard = [toolreg, "guard", "--lock", lock, "--server", "echo"]
    results = {}
    for name, cmd in [
        ("direct", echo),
        ("guard", guard + ["--"] + echo),
        ("guard + audit log", guard + ["--audit-log", audit, "--"] + echo),
        ("guard + keyed audit log", guard + ["--audit-log", keyed, "--audit-key-file", key, "--"] + echo),
        ("guard + audit log of 100 MB", guard + ["--audit-log", big, "--"] + echo),
    ]:
        if big in cmd:
            fill(big, audit, 100 * 1024 * 1024)
        rtts, throughput = session(cmd)
        results[name] = (statistics.median(rtts), p99(rtts), throughput)
    print(f"{n} sequential calls, {m} pipelined calls; round trip in ms")
    print("| path | median | p99 | pipelined msgs/s |")
    print("|---|---|---|---|")
    for name, (median, tail, throughput) in results.items():
        print(f"| {name} | {median:.3f} | {tail:.3f} | {throughput:,.0f} |")
    d = results["direct"]
    for name in list(results)[1:]:
        g = results[name]
        print(f"added by {name}: median {g[0] - d[0]:.3f} ms, p99 {g[1] - d[1]:.3f} ms per request/response pair")
