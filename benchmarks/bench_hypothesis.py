"""Hypothesis examples per second against the built-in camera.

Run: python benchmarks/bench_hypothesis.py [--examples 300] [--runs 3]
One example = one PUT /Images/1/Color (9.6.1.3) with drawn values, some outside 0-100, its statusCode
judged, then a GET that must show the values applied (0) or unchanged (-5): two round trips, the shape
of a property-based conformance check. Prints figures only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, median  # noqa: E402

FIELDS = ("Brightness", "Contrast", "Saturation", "Hue", "Sharpness")


def run_once(target, examples: int) -> float:  # type: ignore[no-untyped-def]
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from pytest_bview import checks

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.fixed_dictionaries({f: st.integers(-20, 120) for f in FIELDS}))
    def prop(values: dict[str, int]) -> None:
        before, _ = target.read("/Images/1/Color")
        doc = {**before, "Mode": "manual", **{k: str(v) for k, v in values.items()}}
        valid = all(0 <= v <= 100 for v in values.values())
        ex = target.client.put("/Images/1/Color", _xml(doc))
        assert checks.status_code(ex) == (0 if valid else -5), ex.summary(500)
        after, _ = target.read("/Images/1/Color")
        expected = doc if valid else before
        assert all(str(after[f]) == str(expected[f]) for f in FIELDS)
        target.client.exchanges.clear()

    start = time.perf_counter()
    prop()
    return examples / (time.perf_counter() - start)


def _xml(doc: dict) -> bytes:  # type: ignore[type-arg]
    from pytest_bview.protocol.xmlblocks import to_xml
    from pytest_bview.spec.blocks import BLOCKS

    return to_xml(BLOCKS["Color"], doc, include_wo=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=300)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    from pytest_bview.client import Client
    from pytest_bview.simulator.camera import CameraThread
    from pytest_bview.target import Target

    with CameraThread(time_scale=0.01, discovery_port=0, ssdp_port=0) as cam:
        client = Client(f"http://127.0.0.1:{cam.ports['http']}", "admin", "admin", timeout=10.0, settle=0.05)
        target = Target(None, "127.0.0.1", cam.ports["http"], cam.ports["rtsp"], client, None)  # type: ignore[arg-type]
        run_once(target, 20)  # warm-up
        rates = []
        for n in range(args.runs):
            rates.append(run_once(target, args.examples))
            print(f"run {n + 1}: {rates[-1]:.0f} examples/s", flush=True)
    print(f"machine: {machine()}")
    rate = median(rates)
    print(
        f"median of {args.runs} runs of {args.examples} examples: {rate:.0f} examples/s ({1000 / rate:.1f} ms/example)"
    )


if __name__ == "__main__":
    main()
