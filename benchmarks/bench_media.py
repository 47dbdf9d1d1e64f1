"""Media engine figures: encode speed at 1080p25, CPU share of a live stream, time of a decoded-stream probe.

Run: python benchmarks/bench_media.py [--seconds 5]
Prints measurements only; never asserts on times (machines differ).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

from pytest_bview import media as client
from pytest_bview.simulator import media
from pytest_bview.simulator.rtsp import RtspServer

FULL_HD = media.VideoSettings(
    width=1920,
    height=1080,
    fps=25.0,
    bitrate_kbps=2048,
    osd_time=media.OsdItem(True, 10, 10),
    osd_name=media.OsdItem(True, 10, 540, "Camera 1"),
    mosaic=media.Mosaic(True, ((400, 100, 500, 200),)),
)


def filler_percent(settings: media.VideoSettings, frames: int) -> tuple[float, float]:
    """Filler data share of the encoded stream (%) and its bit rate (kbit/s)."""
    picture = media.Picture(settings)
    enc = media.H264Encoder(settings.width, settings.height, settings.fps, settings.bitrate_kbps, settings.key_interval)
    units = []
    for i in range(frames):
        units += enc.encode(picture.render(i, 0.0), round(i * 90000 / settings.fps))
    units += enc.flush()
    return media.filler_share(units) * 100, sum(u.size for u in units) * 8 / (frames / settings.fps) / 1000


def encode_fps(settings: media.VideoSettings, frames: int, threads: int) -> float:
    """Frames per second rendering + encoding as fast as possible (no pacing), one client's worth."""
    picture = media.Picture(settings)
    enc = media.H264Encoder(
        settings.width, settings.height, settings.fps, settings.bitrate_kbps, settings.key_interval, threads=threads
    )
    start = time.perf_counter()
    for i in range(frames):
        enc.encode(picture.render(i), round(i * 90000 / settings.fps))
    return frames / (time.perf_counter() - start)


def live_cpu_share(settings: media.VideoSettings, seconds: float) -> tuple[float, int]:
    """Process CPU seconds per wall second while one subscriber pulls a real-time stream."""

    async def run() -> tuple[float, int]:
        hub = media.StreamHub("bench", lambda: settings)
        sub = hub.subscribe()
        await asyncio.wait_for(sub.get(), 5)  # encoder warmed up
        cpu0, wall0, n = time.process_time(), time.perf_counter(), 0
        while time.perf_counter() - wall0 < seconds:
            if await asyncio.wait_for(sub.get(), 5) is not None:
                n += 1
        share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        sub.close()
        await hub.close()
        return share, n

    return asyncio.run(run())


def probe_time(settings: media.VideoSettings, seconds: float, transport: str) -> tuple[float, client.StreamProbe]:
    """Wall time of probe_stream(seconds) against the simulator's RTSP server on 127.0.0.1."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = RtspServer(
        "127.0.0.1", 0, {"/live/0/main": media.StreamHub("main", lambda: settings)}, lambda u, p: True, lambda u: "x"
    )
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        start = time.perf_counter()
        probe = client.probe_stream(server.url("/live/0/main"), "admin", "x", seconds, transport, timeout=30)
        return time.perf_counter() - start, probe
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="Length of the live CPU measurement")
    args = parser.parse_args()

    for threads in (1, 2):
        runs = [encode_fps(FULL_HD, 125, threads) for _ in range(3)]
        print(
            f"encode 1920x1080 (render + libx264 ultrafast, threads={threads}): "
            f"median {statistics.median(runs):.0f} fps (runs: {', '.join(f'{r:.0f}' for r in runs)})"
        )
    for settings in (FULL_HD, media.VideoSettings(width=640, height=360, bitrate_kbps=512)):
        filler, kbps = filler_percent(settings, 125)
        print(
            f"filler data (NAL 12) in 5 s of {settings.width}x{settings.height} at {settings.bitrate_kbps} kbit/s: "
            f"{filler:.1f} % of {kbps:.0f} kbit/s"
        )
    share, n = live_cpu_share(FULL_HD, args.seconds)
    print(f"live 1080p25 stream, one client: {share * 100:.0f} % of one core ({n} frames in {args.seconds:.0f} s)")
    for transport in ("tcp", "udp"):
        wall, probe = probe_time(FULL_HD, 2.0, transport)
        print(
            f"probe_stream 2 s of 1080p25 over {transport}: {wall:.2f} s wall; decoded {probe.frames} frames "
            f"{probe.width}x{probe.height} at {probe.fps:.2f} fps, {probe.bitrate_kbps:.0f} kbit/s (target 2048)"
        )


if __name__ == "__main__":
    main()
