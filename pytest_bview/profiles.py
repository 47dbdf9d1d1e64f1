"""Run profiles: which checks a run selects and which safety tier it implies, for three kinds of user.

Rule 1: a profile only narrows or keeps the collected selection; it never edits a suite.
Rule 2: only `certification` (everything, disruptive included) may issue a declaration of conformance
(report/hooks.py scope_of says so for every other profile).
Rule 3: `acceptance` is one table, ACCEPTANCE, of node-id patterns (file name :: test [id], `*` wildcard);
every pattern must match a collected test of suites/ (tests/test_profiles.py), so a renamed check
cannot silently drop out of a production line's run.
Rule 4: what no pattern can select is never collected (selection.py): a module of the suites is not imported,
a camera's test function is not parametrized, the other items of a function are dropped as they are made. A
fleet's xdist workers each collect every camera's tests, and making 16 x 684 items to deselect 16 x 670 of
them was most of a worker's CPU. What is not collected is counted as left out by the profile, and a module
left with nothing is the profile's choice, not a partial run.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Profile:
    name: str
    level: str  # the safety tier it implies when --bview-level is not given
    help: str
    fixed_level: bool = False  # True: an explicit other --bview-level is a usage error
    declares: bool = False  # the only kind of run whose declaration.html declares conformance


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("acceptance", "reversible", "a short per-unit run for a production line (the ACCEPTANCE table)"),
        Profile("regression", "reversible", "the whole selection at --bview-level (default reversible)"),
        Profile(
            "certification",
            "disruptive",
            "everything, disruptive included; the only profile that issues a declaration of conformance",
            fixed_level=True,
            declares=True,
        ),
    )
}
DEFAULT = "regression"

# One row per thing a production line must know about each unit; the reversible writes are on resources
# outside the network configuration, so no 5-second settle (spec 9.1) is spent, and the session's
# snapshot/restore still proves "device state restored: N/N".
ACCEPTANCE: tuple[tuple[str, str], ...] = (
    ("identity (9.2.4)", "test_schema.py::test_get_matches_schema[GET /System/DeviceInfo]"),
    ("authentication (4.5.2)", "test_protocol.py::test_auth_required[GET /System/DeviceInfo]"),
    ("authentication (4.5.2)", "test_protocol.py::test_wrong_password_refused"),
    ("authentication, RTSP (8)", "test_media.py::test_describe_requires_auth[*]"),
    ("each stream describes itself (8)", "test_media.py::test_sdp[*]"),
    ("each stream decodes at its configuration (9.4.1.2)", "test_media.py::test_resolution[*]"),
    ("the Motion JPEG stream decodes (9.4)", "test_media.py::test_mjpeg_multipart"),
    ("snapshot (9.5.1)", "test_media.py::test_snapshot_size"),
    ("round trip (4.5.4)", "test_config.py::test_round_trip[PUT /Images/1/Color]"),
    ("round trip (4.5.4)", "test_config.py::test_round_trip[PUT /Pictures/1/OSD]"),
    ("round trip (4.5.4)", "test_config.py::test_round_trip[PUT /System/NTP]"),
)


def key(nodeid: str) -> str:
    """`suites/test_media.py::test_sdp[main]` -> `test_media.py::test_sdp[main]` (ids may hold a '/')."""
    path, sep, rest = nodeid.partition("::")
    return path.rsplit("/", 1)[-1] + sep + rest


@functools.lru_cache(maxsize=256)
def _regex(*patterns: str) -> re.Pattern[str]:
    """`*` is the only wildcard (brackets are a test id's, not fnmatch's); compiled once: a fleet of 16 cameras
    matches some 11,000 ids in every xdist worker."""
    return re.compile("|".join(".*".join(map(re.escape, p.split("*"))) for p in patterns), re.S)


def matches(nodeid: str, pattern: str) -> bool:
    return _regex(pattern).fullmatch(key(nodeid)) is not None


def generates(profile: str, file: str, qualname: str) -> bool:
    """Whether a test function (`test_media.py`, `test_sdp` or `TestX::test_y`) may have items the profile keeps."""
    if profile != "acceptance":
        return True
    heads = (pattern.split("[", 1)[0] for _, pattern in ACCEPTANCE)
    return _regex(*heads).fullmatch(f"{file}::{qualname}") is not None


def module_left_out(profile: str, file: str) -> bool:
    """Whether the profile selects nothing from a test module of the suites (Rule 4)."""
    if profile != "acceptance":
        return False
    heads = (pattern.split("::", 1)[0] for _, pattern in ACCEPTANCE)
    return _regex(*heads).fullmatch(file) is None


def in_acceptance(nodeid: str) -> bool:
    return _regex(*(pattern for _, pattern in ACCEPTANCE)).fullmatch(key(nodeid)) is not None


def unlabelled(item: pytest.Item) -> str:
    """The node id without a fleet run's camera label (fleet.py: `test_x[a-door-1]`, `test_x[door-1]`)."""
    callspec = getattr(item, "callspec", None)
    label = callspec.params.get("bview") if callspec is not None else None
    nodeid = item.nodeid
    if isinstance(label, str):
        for tail, keep in ((f"[{label}]", ""), (f"-{label}]", "]")):
            if nodeid.endswith(tail):
                return nodeid[: -len(tail)] + keep
    return nodeid


def select(
    profile: str, items: list[pytest.Item], uses_camera: set[str]
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(kept, deselected): acceptance keeps its table's checks (and any test that needs no camera)."""
    if profile != "acceptance":
        return items, []
    out = [i for i in items if i.nodeid in uses_camera and not in_acceptance(unlabelled(i))]
    gone = {id(i) for i in out}
    return [i for i in items if id(i) not in gone], out
