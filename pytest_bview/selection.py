"""What a run profile collects (profiles.py Rule 4), as pytest hooks registered by the plugin.

The table and its matching are profiles.py's; this module only applies them while pytest collects, so that
what the profile cannot keep is never imported, parametrized or scheduled.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_bview.options import OPTIONS, _raw
from pytest_bview.profiles import ACCEPTANCE, generates, module_left_out, select
from pytest_bview.session import FIXTURES, PROFILE_DROPPED_KEY, PROFILE_UNGENERATED_KEY, uses_camera


@functools.lru_cache(maxsize=16)
def _is_suites_dir(directory: Path) -> bool:
    files = {pattern.split("::", 1)[0] for _, pattern in ACCEPTANCE}
    return all((directory / f).is_file() for f in files)


def _profile(config: pytest.Config) -> str:
    """The profile asked for, read as collection goes (a bad option is the plugin's usage error, later)."""
    return str(_raw(config, next(o for o in OPTIONS if o.dest == "bview_profile")))


class Collection:
    """Rule 4 as pytest hooks (registered by the plugin): what the profile cannot keep is never scheduled."""

    name = "bview-profile-collection"

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        """A module of the suites the profile selects nothing from is not even imported. A suites directory is
        one holding the files the table names, so a user's own test modules elsewhere are never ignored."""
        name = collection_path.name
        if not (name.startswith("test_") and name.endswith(".py")) or _profile(config) != "acceptance":
            return None
        if not module_left_out("acceptance", name) or not _is_suites_dir(collection_path.parent):
            return None
        config.stash.setdefault(PROFILE_UNGENERATED_KEY, []).append(str(collection_path))
        return True

    @staticmethod
    def _test(collector: pytest.Collector, name: str, obj: object) -> tuple[str, str] | None:
        """(profile, qualname) of a camera's test function under a narrowing profile, else None."""
        if not inspect.isfunction(obj) or not isinstance(collector, (pytest.Module, pytest.Class)):
            return None
        profile = _profile(collector.config)
        if profile != "acceptance" or not collector.istestfunction(obj, name):
            return None
        return profile, name if isinstance(collector, pytest.Module) else f"{collector.name}::{name}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makeitem(self, collector: pytest.Collector, name: str, obj: object) -> list[Any] | None:
        """A test function no pattern can select is not parametrized at all (none of its items is made)."""
        found = self._test(collector, name, obj)
        module = collector.getparent(pytest.Module)
        if found is None or module is None or generates(found[0], module.path.name, found[1]):
            return None
        # the fixture closure as pytest computes it for the function's items (its node: where marks are looked up)
        manager: Any = collector.session._fixturemanager
        info = manager.getfixtureinfo(node=collector, func=obj, cls=None)
        if not set(info.names_closure) & set(FIXTURES):
            return None  # not a camera's test: every profile keeps it (select)
        collector.config.stash.setdefault(PROFILE_UNGENERATED_KEY, []).append(f"{collector.nodeid}::{name}")
        return []

    @pytest.hookimpl(wrapper=True, specname="pytest_pycollect_makeitem")
    def pytest_drop_unselected(self, collector: pytest.Collector, name: str, obj: object) -> Iterator[Any]:
        """The items of a function the profile partly selects are dropped as they are made (pytest registers only
        "pytest_" names; specname names the hook)."""
        made = yield
        if self._test(collector, name, obj) is None or not isinstance(made, list):
            return made
        items = [i for i in made if isinstance(i, pytest.Item)]
        camera = {i.nodeid for i in items if uses_camera(i)}
        kept, dropped = select(_profile(collector.config), items, camera)
        if not dropped:
            return made
        stash = collector.config.stash
        stash[PROFILE_DROPPED_KEY] = stash.get(PROFILE_DROPPED_KEY, 0) + len(dropped)
        gone = {id(i) for i in dropped}
        return [i for i in made if id(i) not in gone]
