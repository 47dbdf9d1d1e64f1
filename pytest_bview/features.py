"""Optional features: a test of a feature the device says it lacks is "not supported", not failed.

Rule 1: the device's own word decides, read once per camera and without writing anything:
        two-way audio   GET /System/DeviceInfo <TwoWayAudio> (9.2.4)
        wireless        GET /Network/Interfaces/2 answers an <Interface> block (9.1.7.1: card 2 "if applicable")
        disk            GET /Disk lists at least one <Disk> (9.11)
Rule 2: a test asks for a feature by marker (`audio`, `wireless`, `disk`); PTZ has no read-only probe
        in the spec, so a PTZ check that gets -3 (unsupported operation) says so itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_bview.verdicts import not_supported

PROBES: dict[str, tuple[str, Callable[[Any], bool]]] = {}


def probe(marker: str, what: str) -> Callable[[Callable[[Any], bool]], Callable[[Any], bool]]:
    def deco(fn: Callable[[Any], bool]) -> Callable[[Any], bool]:
        PROBES[marker] = (what, fn)
        return fn

    return deco


def _block_ok(target: Any, path: str) -> dict[str, Any] | None:
    from pytest_bview import checks
    from pytest_bview.spec.resources import match

    found = match(path)
    assert found is not None and found[0].block
    ex = target.client.get(path)
    if ex.status != 200 or checks.status_code(ex) is not None:
        return None
    try:
        return checks.read_block(ex, found[0].block, found[0].section)
    except AssertionError:
        return {}  # present but broken: the schema checks will say what is wrong


@probe("audio", "two-way audio (DeviceInfo TwoWayAudio is false)")
def _audio(target: Any) -> bool:
    info = _block_ok(target, "/System/DeviceInfo") or {}
    return str(info.get("TwoWayAudio", "true")).strip().lower() not in ("false", "0")


@probe("wireless", "a wireless interface (GET /Network/Interfaces/2 has no Interface)")
def _wireless(target: Any) -> bool:
    return _block_ok(target, "/Network/Interfaces/2") is not None


@probe("disk", "a disk (GET /Disk lists none)")
def _disk(target: Any) -> bool:
    disks = _block_ok(target, "/Disk")
    return disks is None or bool(disks.get("Disk", [None]))  # unreadable: let the checks judge it


@pytest.fixture(autouse=True)
def _bview_feature_gate(request: pytest.FixtureRequest) -> None:
    """Turn a test of a feature the device lacks into a "not supported" verdict."""
    wanted = [m for m in PROBES if request.node.get_closest_marker(m)]
    if not wanted or "bview" not in request.fixturenames:
        return
    target = request.getfixturevalue("bview")
    known: dict[str, bool] = target.__dict__.setdefault("_features", {})
    for marker in wanted:
        what, fn = PROBES[marker]
        if marker not in known:
            known[marker] = fn(target)
        if not known[marker]:
            not_supported(f"the device has no {what}")
