"""Reference camera throughput: GET /System/DeviceInfo per second with keep-alive, from a separate load
process, at 1, 16 and 64 connections, with p50/p99 latency; beside an aiohttp hello-world server
measured in the same run (goal: the camera at least 50 % of the hello-world rate).

Run: python benchmarks/bench_throughput.py [--seconds 5] [--runs 3]
The load comes from `wrk` when installed (apt-get install wrk), else from a Python multiprocess client.
Both servers and the load share the machine's cores: the figures say what one box does, not a limit.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import multiprocessing as mp
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, median, sim_process  # noqa: E402

HELLO = """
import sys
from aiohttp import web
async def hello(request):
    return web.Response(text="Hello, World")
app = web.Application()
app.router.add_get("/", hello)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
AUTH = "Basic " + base64.b64encode(b"admin:admin").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def hello_process() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", HELLO, str(port)])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(port: int, path: str, conns: int, seconds: float) -> tuple[float, float, float]:
    threads = min(conns, 2)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(conns),
            "-d",
            f"{seconds:g}s",
            "--latency",
            "-H",
            f"Authorization: {AUTH}",
        ]
        + [f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} error answers from port {port}{path}")
    return rate, p50, p99


def _client(port: int, path: str, conns: int, until: float, out: mp.Queue) -> None:
    """One process driving `conns` keep-alive connections in turn (sequential requests per connection)."""
    links = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(conns)]
    lat: list[float] = []
    while time.monotonic() < until:
        for link in links:
            t0 = time.perf_counter()
            link.request("GET", path, headers={"Authorization": AUTH})
            resp = link.getresponse()
            resp.read()
            lat.append(time.perf_counter() - t0)
    out.put(lat)


def pyload(port: int, path: str, conns: int, seconds: float) -> tuple[float, float, float]:
    procs_n = min(conns, 2)
    per = [conns // procs_n + (1 if i < conns % procs_n else 0) for i in range(procs_n)]
    q: mp.Queue = mp.Queue()
    until = time.monotonic() + seconds
    procs = [mp.Process(target=_client, args=(port, path, n, until, q)) for n in per]
    for p in procs:
        p.start()
    lat = sorted(x for _ in procs for x in q.get())
    for p in procs:
        p.join()
    return len(lat) / seconds, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--connections", default="1,16,64")
    args = p.parse_args()
    load = wrk if shutil.which("wrk") else pyload
    conns = [int(c) for c in args.connections.split(",")]
    print(f"machine: {machine()}; load generator: {'wrk' if load is wrk else 'Python multiprocess client'}")
    with sim_process() as (_, ports), hello_process() as hello_port:
        targets = {"camera": (ports["http"], "/System/DeviceInfo"), "hello": (hello_port, "/")}
        for port, path in targets.values():  # warm up (first requests build caches)
            load(port, path, 4, 1.0)
        figures: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
        for run in range(args.runs):
            for c in conns:
                for name, (port, path) in targets.items():
                    figures.setdefault((name, c), []).append(load(port, path, c, args.seconds))
            print(f"run {run + 1}/{args.runs} done", flush=True)
    print(f"medians of {args.runs} runs of {args.seconds:g} s each:")
    print(
        f"{'connections':>11} {'camera req/s':>13} {'p50 ms':>8} {'p99 ms':>8} {'hello req/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}"
    )
    for c in conns:
        cam = [median([f[i] for f in figures[("camera", c)]]) for i in range(3)]
        hel = [median([f[i] for f in figures[("hello", c)]]) for i in range(3)]
        print(
            f"{c:>11} {cam[0]:>13.0f} {cam[1]:>8.2f} {cam[2]:>8.2f} {hel[0]:>12.0f} {hel[1]:>8.2f} {hel[2]:>8.2f} "
            f"{cam[0] / hel[0]:>6.0%}"
        )
    print("goal: camera >= 50 % of hello-world")


if __name__ == "__main__":
    main()
