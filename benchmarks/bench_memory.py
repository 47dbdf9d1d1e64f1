"""Memory: peak RSS of one reference camera (idle, then while streaming RTSP) and of one plugin worker.

Run: python benchmarks/bench_memory.py [--runs 3] [--stream-seconds 5]
The camera is `bview-sim` in its own process (VmRSS/VmHWM from /proc). Streaming: one client pulls the
main stream (1080p H.264) over RTSP/TCP and decodes it; skipped with a reason when the camera has no
RTSP server. The worker is a pytest process running the suites against that camera from outside
(what one xdist worker holds: pytest, the plugin, the suites, the decoders), its peak from getrusage.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, median, rss_kib, sim_process  # noqa: E402

WORKER = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def stream(ports: dict, seconds: float) -> str | None:  # type: ignore[type-arg]
    """Pull the main stream for `seconds`; None when done, else why it could not."""
    try:
        import av
    except ImportError:
        return "PyAV not installed"
    if not ports.get("rtsp"):
        return "the camera has no RTSP server"
    url = f"rtsp://admin:admin@127.0.0.1:{ports['rtsp']}/live/0/main"
    try:
        with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
            until = time.monotonic() + seconds
            for _ in container.decode(video=0):
                if time.monotonic() > until:
                    break
    except Exception as exc:  # a camera without streams is reported, not fatal
        return f"{type(exc).__name__}: {exc}"
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--stream-seconds", type=float, default=5.0)
    p.add_argument("--worker-suites", nargs="+", default=["suites"])
    args = p.parse_args()
    idle, streaming, worker, why = [], [], [], None
    for n in range(args.runs):
        with sim_process() as (proc, ports):
            time.sleep(2.0)
            idle.append(rss_kib(proc.pid)[1] / 1024)
            why = stream(ports, args.stream_seconds)
            if why is None:
                streaming.append(rss_kib(proc.pid)[1] / 1024)
            with tempfile.TemporaryDirectory() as reports:
                cmd = [sys.executable, "-c", WORKER, sys.executable, "-m", "pytest", *args.worker_suites, "-q"]
                cmd += ["-p", "no:cacheprovider", "-p", "no:xdist", "--bview-host", "127.0.0.1"]
                cmd += ["--bview-port", str(ports["http"]), "--bview-rtsp-port", str(ports["rtsp"])]
                cmd += ["--bview-time-scale", "0.01", "--bview-report-dir", reports]
                out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False).stdout
                worker.append(int(out.split()[-1]) / 1024)
        print(
            f"run {n + 1}: camera idle {idle[-1]:.0f} MiB, streaming "
            f"{f'{streaming[-1]:.0f} MiB' if why is None else 'skipped: ' + why}, worker {worker[-1]:.0f} MiB",
            flush=True,
        )
    print(f"machine: {machine()}")
    print(f"peak RSS, medians of {args.runs} runs:")
    print(f"  reference camera, idle        {median(idle):6.0f} MiB")
    if streaming:
        print(
            f"  reference camera, streaming   {median(streaming):6.0f} MiB  (one 1080p RTSP client, {args.stream_seconds:g} s)"
        )
    else:
        print(f"  reference camera, streaming   skipped: {why}")
    print(f"  plugin worker (pytest)        {median(worker):6.0f} MiB  (suites: {' '.join(args.worker_suites)})")


if __name__ == "__main__":
    main()
