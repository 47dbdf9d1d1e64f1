"""Helpers the benchmarks share: a reference camera in its own process, medians, the machine."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def sim_process(*extra: str, time_scale: float = 0.01) -> Iterator[tuple[subprocess.Popen[str], dict]]:
    """`bview-sim` in its own process (ephemeral ports, its own state dir); yields (process, ports)."""
    with tempfile.TemporaryDirectory(prefix="bview-bench-") as state:
        cmd = [
            sys.executable,
            "-m",
            "pytest_bview.simulator.cli",
            "--state-dir",
            state,
            "--time-scale",
            str(time_scale),
        ]
        cmd += ["--discovery-port", "0", "--ssdp-port", "0", *extra]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                raise RuntimeError("bview-sim did not start")
            yield proc, json.loads(line)
        finally:
            proc.terminate()
            proc.wait(30)


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process in KiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
