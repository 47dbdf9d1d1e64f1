"""The health gate of a restart (9.2.7 reboot, 9.2.8 factory default, 9.2.6 upgrade, 9.2.4 maintenance, the
restart after saving 9.1.4 /Network/Port and 9.1.5 /Network/P2P): watch the camera go away and come back.

Rule 1: every probe is a fresh connection (a kept-alive one may outlive the camera's previous life).
Rule 2: back means DeviceInfo answers 200 again and, if RTSP answered before, a DESCRIBE of the main stream too.
Rule 3: every wait has a deadline at time scale 1, scaled by --bview-time-scale with a floor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from pytest_bview.checks import expect
from pytest_bview.client import Exchange
from pytest_bview.target import urlhost

# device-imposed durations at time scale 1 (a camera that takes longer is broken, not slow)
GO_DOWN_S = 60.0  # from the answer to the services going away
COME_BACK_S = 300.0  # from going away to answering again


def scaled(bview: Any, seconds: float, floor: float) -> float:
    """`seconds` at the session's time scale, never below `floor`."""
    return max(floor, seconds * bview.settings.time_scale)


@dataclass
class Restart:
    """What a restart looked like from outside."""

    went_away: bool
    down_s: float | None  # from the request to the first failed probe
    http_s: float | None  # from the request to DeviceInfo answering again
    rtsp_s: float | None  # ... and an RTSP DESCRIBE answering 200
    port: int

    def figure(self) -> str:
        def f(x: float | None) -> str:
            return "never" if x is None else f"{x:.3f} s"

        return f"went away: {self.went_away}, DeviceInfo back after {f(self.http_s)}, RTSP after {f(self.rtsp_s)}"


def answers(bview: Any, port: int, timeout: float = 2.0) -> bool:
    """DeviceInfo answers 200 on `port` (a fresh connection each time)."""
    try:
        r = requests.get(
            f"{bview.settings.scheme}://{urlhost(bview.host)}:{port}/System/DeviceInfo",
            auth=(bview.settings.user, bview.settings.password),
            timeout=timeout,
            headers={"Connection": "close"},
            verify=False,
        )
        return r.status_code == 200
    except requests.RequestException:
        return False


def rtsp_answers(bview: Any, timeout: float = 2.0) -> bool:
    """An RTSP DESCRIBE of the main stream answers 200 (chapter 8)."""
    from pytest_bview.media import MediaError, rtsp_describe

    try:
        status, _, _ = rtsp_describe(bview.rtsp_url(1), bview.settings.user, bview.settings.password, timeout)
    except (MediaError, OSError):
        return False
    return status == 200


def wait_restart(
    bview: Any, t0: float, *, port: int | None = None, rtsp: bool = True, down_within: float | None = None
) -> Restart:
    """Watch the camera go away (within `down_within`) and come back (DeviceInfo, then RTSP)."""
    port = port or bview.port
    down_deadline = t0 + (down_within if down_within is not None else scaled(bview, GO_DOWN_S, 3.0))
    poll = poll_s(bview)
    down_s = None
    while time.monotonic() < down_deadline:
        if not answers(bview, port, timeout=1.0):
            down_s = time.monotonic() - t0
            break
        time.sleep(poll)
    up_deadline = time.monotonic() + scaled(bview, COME_BACK_S, 5.0)
    http_s = rtsp_s = None
    while time.monotonic() < up_deadline:
        if answers(bview, port):
            http_s = time.monotonic() - t0
            break
        time.sleep(poll)
    if http_s is not None and rtsp:
        while time.monotonic() < up_deadline:
            if rtsp_answers(bview):
                rtsp_s = time.monotonic() - t0
                break
            time.sleep(poll)
    return Restart(down_s is not None, down_s, http_s, rtsp_s, port)


def poll_s(bview: Any) -> float:
    """How often to look: often at a small time scale, every half second at real timing."""
    return min(0.02, 0.5 * bview.settings.time_scale) if bview.settings.time_scale < 1 else 0.5


def expect_back(bview: Any, r: Restart, section: str, what: str, rtsp: bool, *exchanges: Exchange | None) -> None:
    """Fail unless the camera came back (DeviceInfo, and RTSP when `rtsp`) after `what`."""
    expect(
        r.http_s is not None,
        f"did not answer GET /System/DeviceInfo on port {r.port} within "
        f"{scaled(bview, COME_BACK_S, 5.0):g} s after {what}",
        "the camera comes back after a restart",
        section,
        *exchanges,
    )
    expect(
        not rtsp or r.rtsp_s is not None,
        f"answers HTTP again but RTSP DESCRIBE {bview.rtsp_url(1)} does not, after {what}",
        "the streams come back with the camera (chapter 8)",
        section,
        *exchanges,
    )
