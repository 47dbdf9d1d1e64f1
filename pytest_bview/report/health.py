"""The health gate: one GET /System/DeviceInfo before each area of the suites (and after a test that
lost the device), so an unhealthy camera yields inconclusive verdicts instead of a wall of failures.

Rule 1: unreachable (refused, reset, timed out) or answering DeviceInfo with anything but HTTP 200 is
        unhealthy; every later test of the area is inconclusive without touching the device again,
        and the next area probes afresh.
Rule 2: an unexpected reboot shows as the device going away and coming back, or as its identity
        (serial, model, firmware) changing while no test asked for a reboot, factory default or
        firmware upgrade. It is recorded as a health event (report and results.json), not a verdict.
Rule 3: the probe's own exchanges are removed from the client's evidence; they belong to no test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXPECTED_REBOOT_PATHS = (
    "/System/Reboot",
    "/System/FactoryDefault",
    "/System/FirmwareUpgrade",
    "/System/DeviceConfigFile",
)
PROBE_TIMEOUT_S = 5.0


@dataclass
class HealthGate:
    area: str | None = None
    unhealthy: str | None = None  # why the current area is inconclusive
    was_down: bool = False
    suspect: bool = False  # the last test lost the device: probe before the next one
    identity: dict[str, str] = field(default_factory=dict)
    writes_seen: int = 0

    def before(self, target: Any, area: str, test_id: str) -> tuple[str | None, str | None]:
        """(reason the test is inconclusive or None, health event or None) before `test_id`."""
        if area == self.area and not self.suspect:
            return self.unhealthy, None
        self.area, self.suspect = area, False
        problem, ident = probe(target)
        event = None
        if problem is not None:
            self.unhealthy = f"device unhealthy before area {area!r}: {problem}"
            if not self.was_down:
                event = f"device unhealthy before {test_id}: {problem}"
            self.was_down = True
            return self.unhealthy, event
        self.unhealthy = None
        writes = target.client.writes
        asked = any(path.startswith(EXPECTED_REBOOT_PATHS) for _m, path in writes[self.writes_seen :])
        self.writes_seen = len(writes)
        baseline = self.identity or dict(target.identity)
        changed = {k: (baseline.get(k), v) for k, v in ident.items() if baseline.get(k) not in (None, v)}
        changed.pop("DeviceName", None)  # settable (9.2.4)
        if self.was_down and not asked:
            event = f"device came back before {test_id} after being unreachable (unexpected reboot?)"
        elif changed and not asked:
            what = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in sorted(changed.items()))
            event = f"device identity changed before {test_id} with no reboot or upgrade asked: {what}"
        self.was_down = False
        self.identity = ident
        return None, event


def probe(target: Any) -> tuple[str | None, dict[str, str]]:
    """(problem or None, identity fields) from one GET /System/DeviceInfo."""
    from pytest_bview.checks import parse_xml
    from pytest_bview.client import DeviceError
    from pytest_bview.target import IDENTITY_FIELDS

    client = target.client
    mark = len(client.exchanges)
    try:
        ex = client.get("/System/DeviceInfo", timeout=min(PROBE_TIMEOUT_S, target.settings.timeout))
    except DeviceError as err:
        return str(err), {}
    finally:
        del client.exchanges[mark:]
    if ex.status != 200:
        return f"GET /System/DeviceInfo answered HTTP {ex.status} {ex.reason}".rstrip(), {}
    try:
        root = parse_xml(ex, "9.2.4")
    except AssertionError:
        return "GET /System/DeviceInfo answered a body that is not the DeviceInfo block", {}
    return None, {k: (root.findtext(k) or "").strip() for k in IDENTITY_FIELDS}
