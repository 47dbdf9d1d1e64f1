"""pytest-bview's pytest plugin: options, markers, the camera fixture and report hooks.

Thin by design: the protocol lives in client.py and checks.py, the camera in simulator/,
the API in spec/. Nothing starts until a collected test asks for the camera, so running the
project's own tests (or `pytest --help`) never touches a device.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_bview.options import LEVELS, Settings, add_options, resolve

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


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


# Sub-plugins, one per concern, registered when present (each is an ordinary pytest plugin module).
EXTENSIONS = (
    "pytest_bview.restore",  # snapshot, journal, restore and verify (issue 3)
    "pytest_bview.receivers",  # SMTP, FTP and HTTP receivers for outbound channels (issue 6)
    "pytest_bview.report.hooks",  # per-firmware reports (issue 8)
    "pytest_bview.fleet",  # inventories and xdist fleets (issue 9)
    "pytest_bview.features",  # optional features the device lacks -> "not supported"
)


def pytest_configure(config: pytest.Config) -> None:
    import importlib

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not (exc.name and (name == exc.name or name.startswith(exc.name + "."))):
                raise  # a missing dependency inside an extension is a real error
            continue
        if not config.pluginmanager.is_registered(module):
            config.pluginmanager.register(module, name)
    for level in LEVELS:
        config.addinivalue_line("markers", f"{level}: the test needs the {level} safety tier (--bview-level)")
    for area in AREAS:
        config.addinivalue_line("markers", f"{area}: B-View 2 area {area}")
    config.addinivalue_line(
        "markers", "needs_operator: needs something software cannot cause on a real camera (motion); skipped there"
    )
    config.addinivalue_line(
        "markers", "bview_rule(*ids): the rules of pytest_bview/spec/rules.py the check verifies (docs/RULES.md)"
    )
    config.stash[TARGET_KEY] = None


def _settings(config: pytest.Config) -> Settings:
    if SETTINGS_KEY not in config.stash:
        config.stash[SETTINGS_KEY] = resolve(config)
    return config.stash[SETTINGS_KEY]


def _target(config: pytest.Config) -> Any:
    """Open the camera under test once per session (starting the built-in one if needed)."""
    target = config.stash[TARGET_KEY]
    if target is None:
        from pytest_bview.target import SessionError, Target

        try:
            target = Target.open(_settings(config))
        except SessionError as err:
            pytest.exit(f"bview: {err}", returncode=3)
        target.client.all_pairs.clear()  # opening (identity, instances) is the kit's traffic, not coverage
        config.stash[TARGET_KEY] = target
    return target


def _camera(config: pytest.Config, label: str | None) -> Any:
    """The single camera under test, or the fleet camera `label` (opened on first use, then kept)."""
    if label is None:
        return _target(config)
    return config.stash[FLEET_KEY].target(config, label)


def _item_target(item: pytest.Item) -> Any:
    """The already opened Target of the item's camera, or None."""
    callspec = getattr(item, "callspec", None)
    label = callspec.params.get("bview") if callspec is not None else None
    if label is None:
        return item.config.stash.get(TARGET_KEY, None)
    return item.config.stash.get(TARGETS_KEY, {}).get(label)


def _wants_camera(items: list[pytest.Item]) -> bool:
    return any(set(getattr(item, "fixturenames", ())) & set(FIXTURES) for item in items)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _wants_camera(items):
        return
    settings = _settings(config)
    for item in items:
        tier = next((lvl for lvl in reversed(LEVELS) if item.get_closest_marker(lvl)), "reversible")
        if not settings.allows(tier):
            item.add_marker(pytest.mark.skip(reason=f"needs --bview-level {tier} (running {settings.level})"))


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    if not _wants_camera(items) or config.option.collectonly or config.stash.get(FLEET_KEY, None) is not None:
        return []
    target = _target(config)
    s = target.settings
    where = (
        f"built-in reference camera at 127.0.0.1:{target.port} (RTSP {target.rtsp_port}, time scale "
        f"{s.time_scale:g}{', faults ' + ','.join(s.sim_fault) if s.sim_fault else ''})"
        if s.builtin
        else f"{s.scheme}://{target.host}:{target.port} (RTSP {target.rtsp_port})"
    )
    ident = target.identity
    return [
        f"bview: camera under test: {where}",
        f"bview: model {ident.get('DeviceTypeName')}, serial {ident.get('SerialNum')}, "
        f"firmware {ident.get('SoftWareVersion')}, hardware {ident.get('HardWareVersion')}",
        f"bview: level {s.level}, settle {s.settle:g} s, timeout {s.timeout:g} s",
    ]


@pytest.fixture(scope="session")
def bview(request: pytest.FixtureRequest) -> Any:
    """The camera under test (pytest_bview.target.Target); in a fleet run, the test's camera."""
    return _camera(request.config, getattr(request, "param", None))


@pytest.fixture
def bview_client(bview: Any) -> Any:
    """The camera's HTTP client, its evidence reset for this test."""
    bview.client.exchanges.clear()
    return bview.client


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and report.failed and _is_device_error(call.excinfo.value):
        report.longrepr = call.excinfo.getrepr(style="value")  # the device's failure is the verdict, not our stack
    target = _item_target(item)
    if target is None or report.when != "call" or not report.failed:
        return
    exchanges = target.client.exchanges[-20:]
    if exchanges:
        text = "\n\n".join(f"{ex.summary(4000)}\nReproduce with: {ex.curl()}" for ex in exchanges)
        report.sections.append(("bview exchanges", text))


# Exceptions meaning "the device could not be talked to" (deadline, size cap, reset...): shown as their
# message alone, never as a traceback through the kit (issue 10). Looked up only if already imported.
DEVICE_ERRORS = (("pytest_bview.client", "DeviceError"), ("pytest_bview.media", "MediaError"))


def _is_device_error(exc: BaseException) -> bool:
    import sys

    kinds = tuple(k for m, n in DEVICE_ERRORS if isinstance(k := getattr(sys.modules.get(m), n, None), type))
    return bool(kinds) and isinstance(exc, kinds)


def pytest_runtest_setup(item: pytest.Item) -> None:
    target = _item_target(item)
    if target is not None:
        target.client.exchanges.clear()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    target = config.stash.get(TARGET_KEY, None)
    if target is None:
        return
    from pytest_bview.spec.resources import resource_methods

    total = len(resource_methods())
    done = len(target.client.all_pairs)
    terminalreporter.write_line(f"spec coverage: {done}/{total} resource-methods")
    terminalreporter.write_line(f"bview: network-configuration writes: {target.client.network_writes}")


def pytest_unconfigure(config: pytest.Config) -> None:
    target = config.stash.get(TARGET_KEY, None)
    if target is not None:
        target.close()
        config.stash[TARGET_KEY] = None
