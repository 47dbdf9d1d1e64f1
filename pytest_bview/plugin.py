"""pytest-bview's pytest plugin: options, markers, the camera fixture and report hooks.

Thin by design: the protocol lives in client.py and checks.py, the camera in simulator/,
the API in spec/. Nothing starts until a collected test asks for the camera, so running the
project's own tests (or `pytest --help`) never touches a device.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_bview.options import LEVELS, add_options, tier_of

# The session's camera and its stash keys live one floor down (session.py), where the sub-plugins read them.
from pytest_bview.session import (  # noqa: F401  (re-exported: the names sub-plugins and tests knew here)
    AREAS,
    FIXTURES,
    FLEET_KEY,
    PROFILE_DESELECTED_KEY,
    PROFILE_DROPPED_KEY,
    SETTINGS_KEY,
    TARGET_KEY,
    TARGETS_KEY,
    item_target,
    open_camera,
    opened_targets,
    uses_camera,
)
from pytest_bview.session import camera as _camera
from pytest_bview.session import settings as _settings
from pytest_bview.session import target as _target


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_bview import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    # Sub-plugins, one per concern, registered explicitly: an import error in one is an error of the kit.
    from pytest_bview import features, fleet, receivers, restore
    from pytest_bview.report import hooks as report_hooks
    from pytest_bview.selection import Collection

    for name, module in (
        ("pytest_bview.restore", restore),  # snapshot, journal, restore and verify
        ("pytest_bview.receivers", receivers),  # SMTP, FTP and HTTP receivers for outbound channels
        ("pytest_bview.report.hooks", report_hooks),  # per-firmware reports
        ("pytest_bview.fleet", fleet),  # inventories and xdist fleets
        ("pytest_bview.features", features),  # optional features the device lacks -> "not supported"
    ):
        if not config.pluginmanager.is_registered(module):
            config.pluginmanager.register(module, name)
    if not config.pluginmanager.has_plugin(Collection.name):
        config.pluginmanager.register(Collection(), Collection.name)  # the run profile's collection (selection.py)
    from pytest_bview.schedule import Durations

    if not config.pluginmanager.has_plugin(Durations.name):  # here: an xdist controller collects nothing
        config.pluginmanager.register(Durations(config), Durations.name)  # the next run's order (schedule.py)
    for level in LEVELS:
        config.addinivalue_line("markers", f"{level}: the test needs the {level} safety tier (--bview-level)")
    for area in AREAS:
        config.addinivalue_line("markers", f"{area}: B-View 2 area {area}")
    config.addinivalue_line(
        "markers", "needs_operator: needs something software cannot cause on a real camera (motion); skipped there"
    )
    config.addinivalue_line(
        "markers",
        "bview_lab(what): needs the reference camera's lab (/_sim/ controls: motion, a full log, a firmware "
        "package...); skipped on a camera without one (lab.py)",
    )
    config.addinivalue_line(
        "markers", "bview_rule(*ids): the rules of pytest_bview/spec/rules.py the check verifies (docs/RULES.md)"
    )
    config.stash[TARGET_KEY] = None


def _wants_camera(items: list[pytest.Item]) -> bool:
    return any(uses_camera(item) for item in items)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _wants_camera(items):
        return
    settings = _settings(config)
    from pytest_bview.profiles import select

    kept, dropped = select(settings.profile, items, {i.nodeid for i in items if uses_camera(i)})
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    config.stash[PROFILE_DESELECTED_KEY] = len(dropped) + config.stash.get(PROFILE_DROPPED_KEY, 0)
    for item in items:
        tier = tier_of(item)
        if not settings.allows(tier):
            item.add_marker(pytest.mark.skip(reason=f"needs --bview-level {tier} (running {settings.level})"))
    from pytest_bview import schedule  # network writes spread out, their settle windows filled (9.1)

    items[:] = schedule.order(items, settings.settle, schedule.cached_durations(config), schedule.cached_writes(config))


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
        f"bview: profile {s.profile}, level {s.level}, settle {s.settle:g} s, timeout {s.timeout:g} s",
    ]


@pytest.fixture(scope="session")
def bview(request: pytest.FixtureRequest) -> Any:
    """The camera under test (pytest_bview.target.Target); in a fleet run, the test's camera."""
    return _camera(request.config, getattr(request, "param", None))


@pytest.fixture(autouse=True)
def _bview_lab_marker(request: pytest.FixtureRequest) -> None:
    """A test marked `bview_lab` is skipped on a camera without the lab (lab.py Rule 2)."""
    marker = request.node.get_closest_marker("bview_lab")
    if marker is not None:
        from pytest_bview import lab

        lab.required(request.getfixturevalue("bview"), str(marker.args[0]) if marker.args else "")


@pytest.fixture
def bview_lab(bview: Any) -> Any:
    """The reference camera's lab (lab.Lab); skips on a camera without one."""
    from pytest_bview import lab

    return lab.required(bview)


@pytest.fixture
def bview_client(bview: Any) -> Any:
    """The camera's HTTP client, its evidence reset for this test."""
    bview.client.exchanges.clear()
    return bview.client


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if call.excinfo is not None and report.failed and _is_device_error(call.excinfo.value):
        report.longrepr = call.excinfo.getrepr(style="value")  # the device's failure is the verdict, not our stack
    target = item_target(item)
    if target is None:
        return
    if report.when == "teardown" and _WRITES_AT_SETUP in item.stash:  # (a skip mark ends setup before ours)
        from pytest_bview.schedule import REPORT_WRITES  # the item's network writes, for the next run's order

        setattr(report, REPORT_WRITES, target.client.network_writes - item.stash[_WRITES_AT_SETUP])
    exchanges = target.client.exchanges[-20:] if report.when == "call" and report.failed else []
    if exchanges:
        text = "\n\n".join(f"{ex.summary(4000)}\nReproduce with: {ex.curl()}" for ex in exchanges)
        report.sections.append(("bview exchanges", text))
    _redact(report, target.client.secrets)


def _redact(report: pytest.TestReport, secrets: Any) -> None:
    """Every secret the session knows (client.Secrets) out of what the console, junit and the reports show:
    the failure text, the captured output and logs, the recorded properties."""
    if not secrets.values:
        return
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        report.longrepr = (longrepr[0], longrepr[1], secrets.redact(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        clean = secrets.redact(text)
        if clean != text:
            report.longrepr = clean  # (the traceback's layout kept, as text)
    report.sections = [(title, secrets.redact(content)) for title, content in report.sections]
    report.user_properties = [(name, secrets.scrub(value)) for name, value in report.user_properties]


# Exceptions meaning "the device could not be talked to" (deadline, size cap, reset...): shown as their
# message alone, never as a traceback through the kit (issue 10). Looked up only if already imported.
DEVICE_ERRORS = (("pytest_bview.client", "DeviceError"), ("pytest_bview.media", "MediaError"))


def _is_device_error(exc: BaseException) -> bool:
    import sys

    kinds = tuple(k for m, n in DEVICE_ERRORS if isinstance(k := getattr(sys.modules.get(m), n, None), type))
    return bool(kinds) and isinstance(exc, kinds)


_WRITES_AT_SETUP = pytest.StashKey[int]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    target = item_target(item)
    if target is not None:
        target.client.exchanges.clear()
        item.stash[_WRITES_AT_SETUP] = target.client.network_writes


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    target = config.stash.get(TARGET_KEY, None)
    if target is None:
        return
    from pytest_bview.spec.resources import resource_methods

    total = len(resource_methods())
    done = len(target.client.all_pairs)
    terminalreporter.write_line(f"spec coverage: {done}/{total} resource-methods")
    client = target.client
    floor = client.settle * max(client.network_writes - 1, 0)  # what 9.1 imposes however the run is ordered
    terminalreporter.write_line(
        f"bview: network-configuration writes: {client.network_writes} (floor {floor:.1f} s of settle; "
        f"settle waits: {client.settle_waited:.1f} s slept, the rest filled by other checks)"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    target = config.stash.get(TARGET_KEY, None)
    if target is not None:
        target.close()
        config.stash[TARGET_KEY] = None
