"""The reference camera's extension points: the tables its areas register into when they are imported.

Rule 1: arrows point down: an area (actions.py, events.py, maintenance.py, ...) imports this module and
        `http.py`/`faults.py`, and `camera.py` only for type annotations (`if TYPE_CHECKING:`); `camera.py`
        imports every area once, in a fixed order.
Rule 2: a table is read at run time only (a camera start, a save, a restart), never while areas load,
        so the order of registration is the only order that matters (STARTUP_HOOKS start in it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_bview.spec.facts import RESTART_ON_SAVE as SPEC_RESTART_ON_SAVE

if TYPE_CHECKING:
    from aiohttp import web

    from pytest_bview.simulator.camera import Camera

# Services that join the camera at start (RTSP, discovery, SSDP): `async hook(camera) -> service | None`
STARTUP_HOOKS: list[Callable[[Camera], Any]] = []
# async hook(camera) run before every restart, the camera still up (netif.py: the address to come back at)
BEFORE_RESTART: list[Callable[[Camera], Any]] = []
# resources whose saved change restarts the camera after the answer (maintenance.py Rule 1; netif.py adds its own)
RESTART_ON_SAVE: list[str] = list(SPEC_RESTART_ON_SAVE)  # 9.1.4, 9.1.5 "restarted after saving" (spec/facts.py)
# Simulator-only control endpoints under /_sim/ (motion injection, ...): (method, path) -> handler
SIM_ROUTES: dict[tuple[str, str], Callable[[Camera, web.Request], Any]] = {}
