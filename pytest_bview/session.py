"""The camera under test of one pytest session: the stash keys and the accessors every sub-plugin uses.

Rule 1: one floor below the plugin and its sub-plugins (plugin.py registers restore, receivers, report,
        fleet and features; they all read the session's camera here), so no sub-plugin imports plugin.py.
Rule 2: the session's state lives in the config stash under typed keys; a fleet's cameras are found per
        test (`item_target`).
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_bview.options import Settings, resolve

AREAS = (
    "network",
    "system",
    "security",
    "streams",
    "media",
    "images",
    "pictures",
    "audio",
    "events",
    "record",
    "disk",
    "ptz",
    "alarm",
    "discovery",
    "protocol",
    "schema",
    "wireless",
)
TARGET_KEY = pytest.StashKey["Any"]()
SETTINGS_KEY = pytest.StashKey[Settings]()
FIXTURES = ("bview", "bview_client")
# Fleet runs (fleet.py): the `bview` fixture is parametrized indirectly with a camera label; each label
# opens its own Target, kept here. FLEET_KEY holds the fleet (None or absent: the single-camera path).
TARGETS_KEY = pytest.StashKey[dict[str, Any]]()
FLEET_KEY = pytest.StashKey[Any]()
PROFILE_DESELECTED_KEY = pytest.StashKey[int]()  # tests the run profile left out (report/hooks.py scope_of)
PROFILE_DROPPED_KEY = pytest.StashKey[int]()  # of those, the items dropped as they were collected (profiles Rule 4)
PROFILE_UNGENERATED_KEY = pytest.StashKey[list[str]]()  # test functions it did not even generate (profiles Rule 4)


def uses_camera(item: Any) -> bool:
    """Whether a collected test asks for the camera (a FIXTURES name in its fixture closure)."""
    return bool(set(getattr(item, "fixturenames", ())) & set(FIXTURES))


def settings(config: pytest.Config) -> Settings:
    """The run's settings (options, ini, environment), resolved once."""
    if SETTINGS_KEY not in config.stash:
        config.stash[SETTINGS_KEY] = resolve(config)
    return config.stash[SETTINGS_KEY]


def target(config: pytest.Config) -> Any:
    """Open the camera under test once per session (starting the built-in one if needed)."""
    target = config.stash[TARGET_KEY]
    if target is None:
        from pytest_bview.target import SessionError

        try:
            target = open_camera(config, settings(config))
        except SessionError as err:
            pytest.exit(f"bview: {err}", returncode=err.exit_status)
        target.client.all_pairs.clear()  # opening (identity, instances) is the kit's traffic, not coverage
        config.stash[TARGET_KEY] = target
    return target


def open_camera(config: pytest.Config, settings: Settings, identity: Any = None) -> Any:
    """Open one camera (target.Target) and tell the sub-plugins (hooks.pytest_bview_camera_opened); a camera
    one of them refuses is closed again and its SessionError raised."""
    from pytest_bview.target import SessionError, Target

    target = Target.open(settings, identity=identity)
    try:
        config.hook.pytest_bview_camera_opened(config=config, target=target)
    except SessionError:
        target.close()
        raise
    return target


def camera(config: pytest.Config, label: str | None) -> Any:
    """The single camera under test, or the fleet camera `label` (opened on first use, then kept)."""
    if label is None:
        return target(config)
    return config.stash[FLEET_KEY].target(config, label)


def item_target(item: pytest.Item) -> Any:
    """The already opened Target of the item's camera, or None (not opened, or a fleet camera that could
    not be opened). Every sub-plugin asks this, never a process-wide "current camera"."""
    from pytest_bview.target import Target

    callspec = getattr(item, "callspec", None)
    label = callspec.params.get("bview") if callspec is not None else None
    if label is None:
        found = item.config.stash.get(TARGET_KEY, None)
    else:
        found = item.config.stash.get(TARGETS_KEY, {}).get(label)
    return found if isinstance(found, Target) else None


def opened_targets(config: pytest.Config) -> list[Any]:
    """Every camera this process opened (the single one, or the fleet's that could be opened)."""
    from pytest_bview.target import Target

    found = [config.stash.get(TARGET_KEY, None), *config.stash.get(TARGETS_KEY, {}).values()]
    return [t for i, t in enumerate(found) if isinstance(t, Target) and not any(t is o for o in found[:i])]
