"""The Hypothesis strategies of suites/test_domains.py reach the domains the issue lists.

This checks the kit's own strategies, not a device: it was `suites/test_domains.py::
test_strategies_cover_the_issue_domains`, and moved here because a suite check must be about the device
(every suite check needs a fault profile of the reference camera that makes it fail; no camera can make
this one fail).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from pytest_bview.spec.blocks import BLOCKS

SUITE = Path(__file__).resolve().parents[1] / "suites" / "test_domains.py"
WANTED = ("Brightness", "DisplayTime/PosX", "PreRecord", "WeekDayMask", "TimeBlock/Block_0", "shutter")


def _suite() -> ModuleType:
    """suites/test_domains.py as a plain module (under its own name, so it never shadows the collected one)."""
    name = "bview_suite_test_domains"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SUITE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def test_strategies_cover_the_issue_domains() -> None:
    """The generated strategies reach the domains the issue lists (a guard against silent narrowing)."""
    suite = _suite()
    found = {
        "/".join(p): f
        for path in suite.RESOURCES
        for p, f in suite.leaves(BLOCKS[suite._resource(path).block].root)  # noqa: SLF001
    }
    for wanted in WANTED:
        hits = [f for n, f in found.items() if re.search(wanted, n)]
        assert hits, f"no writable leaf of the suite's resources matches {wanted!r}"
        assert any(suite.invalid(f) is not None for f in hits), f"{wanted}: no strategy for values outside the domain"
