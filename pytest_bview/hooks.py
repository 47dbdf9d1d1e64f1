"""Hook specifications of pytest-bview: how its sub-plugins hear of each other (registered by plugin.py).

Each is an ordinary pytest hook; a sub-plugin (restore, report, fleet) implements the ones it needs, so
no part of the kit reaches into another's stash by name.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_bview_camera_opened(config: pytest.Config, target: Any) -> None:
    """A camera under test was opened (connected, identified as a B-View 2 device), before any test uses it.

    `target` is the pytest_bview.target.Target. An implementation may raise target.SessionError to refuse
    to test the camera (restore.py does when an interrupted run left it changed and the repair failed).
    """


def pytest_bview_restore_verdicts(config: pytest.Config) -> dict[str, str]:  # type: ignore[empty-body]
    """Called at the end of the session: device key (target.device_key) -> the restore verdict line of
    every camera this process restored. Results of all implementations are merged."""
