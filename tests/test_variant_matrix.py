"""Every conformant variant passes every suite: the dual of tests/test_fault_matrix.py.

For each variant of the reference camera (pytest_bview/simulator/variants.py: a difference the spec allows), the
whole of `pytest suites` runs against the built-in camera with that variant on; it must pass (advisories for a
SHOULD the variant declines are not failures) and end with the restore verdict N/N. Each run is its own pytest
process (`-x`: the first failure ends it), all started when the first test of this module asks for its result.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pytest_bview.simulator.camera import CameraThread
from pytest_bview.simulator.variants import REGISTRY, listing

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = sorted(REGISTRY)
DEADLINE_S = 1500.0
RESTORED = re.compile(r"device state restored: (\d+)/(\d+)")


def _run(variant: str, workdir: Path) -> tuple[int, str]:
    args = [sys.executable, "-m", "pytest", str(ROOT / "suites"), f"--rootdir={ROOT}", "-p", "no:cacheprovider"]
    args += ["-q", "-x", "-rfE", "--bview-sim-variant", variant, f"--bview-report-dir={workdir / 'reports'}"]
    proc = subprocess.run(
        args, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=DEADLINE_S, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future]]:
    """The selected variants' runs, two at a time (one at a time under xdist or on one core)."""
    selected = [
        i.callspec.params["variant"]
        for i in request.session.items
        if isinstance(i, pytest.Function) and i.module is request.module and i.originalname == "test_every_suite_passes"
    ]
    # A suite run keeps one core busy and its media checks decode video against deadlines: two at a time only
    # where a third core is left for the cameras (two cores: one at a time).
    alone = os.environ.get("PYTEST_XDIST_WORKER") or (os.cpu_count() or 1) <= 2
    with ThreadPoolExecutor(max_workers=1 if alone else 2) as pool:
        yield {v: pool.submit(_run, v, tmp_path_factory.mktemp(f"variant-{v}")) for v in selected}


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_suite_passes(runs: dict[str, Future], variant: str) -> None:
    code, out = runs[variant].result(timeout=DEADLINE_S)
    tail = out[-4000:]
    assert code == 0, f"variant {variant} ({REGISTRY[variant].doc}) failed the suites:\n{tail}"
    restored = RESTORED.search(out)
    assert restored and restored.group(1) == restored.group(2), f"variant {variant}: restore verdict not N/N\n{tail}"


def test_every_variant_names_a_rule() -> None:
    from pytest_bview.spec.rules import RULES

    for v in REGISTRY.values():
        assert v.rules and set(v.rules) <= set(RULES), v
    assert all(name in listing() for name in REGISTRY)


def test_variants_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_bview.simulator.cli import main

    assert main(["--list-variants"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in REGISTRY)
    assert main(["--variant", "no-such-variant", "--http-port", "0"]) == 2


def _get(cam: CameraThread, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", cam.ports["http"], timeout=10)
    token = base64.b64encode(b"admin:admin").decode()
    conn.request("GET", path, headers={"Authorization": f"Basic {token}"})
    resp = conn.getresponse()
    resp.body = resp.read()  # type: ignore[attr-defined]
    conn.close()
    return resp


@pytest.mark.parametrize(
    "variant,path,check",
    [
        ("xml-namespace-prefix", "/System/DeviceInfo", lambda r: b"<bv:DeviceInfo xmlns:bv=" in r.body),
        ("xml-namespace-none", "/System/DeviceInfo", lambda r: b"xmlns" not in r.body and b"<DeviceInfo" in r.body),
        ("text-xml", "/Images/1/Color", lambda r: r.getheader("Content-Type") == "text/xml; charset=UTF-8"),
        ("connection-close", "/System/DeviceInfo", lambda r: (r.getheader("Connection") or "").lower() == "close"),
        ("other-identity", "/System/DeviceInfo", lambda r: b"XC-9000 Pro/2" in r.body),
        ("lived-in", "/System/NTP", lambda r: b"CET-1CEST" in r.body),
        ("lived-in", "/System/Users", lambda r: r.body.count(b"<UserName>") >= 5),
    ],
)
def test_variant_does_what_it_says(variant: str, path: str, check: Any) -> None:
    with CameraThread(time_scale=0.01, ssdp_port=0, discovery_port=0, variants=(variant,)) as cam:
        resp = _get(cam, path)
        assert resp.status == 200 and check(resp), (resp.getheaders(), resp.body[:400])  # type: ignore[attr-defined]


def test_lived_in_is_far_from_factory() -> None:
    with CameraThread(time_scale=0.01, ssdp_port=0, discovery_port=0) as plain:
        factory = {p: _get(plain, p).body for p in LIVED_IN_PATHS}  # type: ignore[attr-defined]
    with CameraThread(time_scale=0.01, ssdp_port=0, discovery_port=0, variants=("lived-in",)) as cam:
        lived = {p: _get(cam, p).body for p in LIVED_IN_PATHS}  # type: ignore[attr-defined]
    same = [p for p in LIVED_IN_PATHS if lived[p] == factory[p]]
    assert not same, f"still at factory values: {same}"


LIVED_IN_PATHS = [
    "/Images/1/Color",
    "/Images/1/Basic",
    "/Images/1/Exposure",
    "/Images/1/WhiteBalance",
    "/Pictures/1/OSD",
    "/Streams/1/1",
    "/Streams/1/2",
    "/System/DeviceInfo",
]
