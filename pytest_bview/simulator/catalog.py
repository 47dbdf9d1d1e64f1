"""Every fault profile of the reference camera.

Rule 1: the top of the camera: it imports `camera.py`, which imports every area, so the registry of
        `faults.py` is complete here and nowhere below (an area never imports this module).
Rule 2: the camera knows the rules its faults break, never the checks: the join with the suites and the
        published matrix (docs/FAULTS.md) are pytest_bview/testing/matrix.py.
"""

from __future__ import annotations

from pytest_bview.simulator.faults import REGISTRY, Fault


def load_all() -> dict[str, Fault]:
    """Every declared fault profile by name: the camera's areas are all imported first."""
    from pytest_bview.simulator import camera  # noqa: F401  (imports every area, which declare their faults)

    return dict(sorted(REGISTRY.items()))
