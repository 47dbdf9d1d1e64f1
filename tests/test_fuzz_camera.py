"""A bounded fuzz campaign against the reference camera (pytest_bview/testing/fuzzing.py holds the
strategies and the oracle; benchmarks/fuzz_camera.py runs a longer one).

HTTP: malformed XML, huge bodies, odd methods, path traversal, header injection, broken Basic headers,
bad multipart, broken framing. RTSP: malformed requests and broken credentials (skipped when the RTSP
server is not built). Discovery V2: valid, truncated, flipped and random datagrams through
`DiscoveryResponder.handle` on the camera's own facts. The camera must answer each with a clear
status, never change its store on a refused input, and read back schema-valid at the end.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from pytest_bview.simulator.camera import CameraThread
from pytest_bview.testing.fuzzing import Oracle, discovery_datagrams, http_requests, rtsp_requests

# derandomized: the bounded campaign in CI is the same every run; benchmarks/fuzz_camera.py explores
FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
HAS_RTSP = importlib.util.find_spec("pytest_bview.simulator.rtsp") is not None


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    pending = _Records()
    logging.getLogger("asyncio").addHandler(pending)
    try:
        with CameraThread(time_scale=0.01, ssdp_port=0, discovery_port=0) as cam:
            found = Oracle(cam)
            found.baseline = found.survey()
            yield found
        gc.collect()
    finally:
        logging.getLogger("asyncio").removeHandler(pending)
    # seen: handlers of clients that left mid-request were destroyed pending with the camera's loop
    assert not [m for m in pending.messages if "destroyed but it is pending" in m], pending.messages[:3]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@FUZZ
@given(raw=http_requests())
def test_http_inputs_get_clear_answers(oracle: Oracle, raw: bytes) -> None:
    problem = oracle.http(raw)
    assert problem is None, f"{problem}\nsent: {raw[:400]!r}"


@FUZZ
@given(raw=rtsp_requests())
def test_rtsp_inputs_get_clear_answers(oracle: Oracle, raw: bytes) -> None:
    if not HAS_RTSP or not oracle.sim.ports.get("rtsp"):
        pytest.skip("the RTSP server is not built (pytest_bview/simulator/rtsp.py)")
    problem = oracle.rtsp(raw)
    assert problem is None, f"{problem}\nsent: {raw[:400]!r}"


@settings(FUZZ, max_examples=200)
@given(data=discovery_datagrams())
def test_discovery_datagrams_never_crash_or_change_state(oracle: Oracle, data: bytes) -> None:
    problem = oracle.discovery(data)
    assert problem is None, f"{problem}\nsent: {data[:400]!r}"


def test_camera_still_healthy_after_fuzzing(oracle: Oracle) -> None:
    """Runs last in this module: every configuration resource answers as it did before the campaign."""
    after = oracle.survey()
    changed = {url: (oracle.baseline[url], now) for url, now in after.items() if oracle.baseline.get(url) != now}
    assert not changed, f"GET answers changed by the campaign: {changed}"
    assert all(v == "valid" or v.startswith("HTTP") for v in after.values()), after
    assert oracle.counts.get("http", 0) >= 100, oracle.counts
