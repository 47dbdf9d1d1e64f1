"""Fleet runs: the suites against many cameras at once, on pytest-xdist.

Rule 1: one camera's tests run in one xdist worker, one after another, so that the camera's settle and
        state rules hold as in a single-camera run; cameras run in parallel across workers. The
        controller schedules with `CameraScheduling` (xdist's `pytest_xdist_make_scheduler`), whose
        scope of a test is its camera's label (the last part of its id); the controller also checks
        that it held (`FleetRecorder`, which fails the session loudly if a camera ran on two workers).
        A single camera under xdist (`-n N`) is a fleet of one, so it is never written by two workers.
Rule 2: each camera is its own `Target` with its own settings; the `bview` fixture is parametrized
        indirectly with the camera label (session.py `camera`), and the Target is opened on first use
        in the worker that runs the camera's group.
Rule 3: the inventory names the environment variable holding a camera's password, never the password.
Rule 4: every sub-plugin finds a test's camera with `session.item_target(item)` (never a process-wide
        "current camera"), so each camera's snapshot, restore, report and declaration hold its own tests
        only; a camera that could not be opened has no report, only its row in the fleet summary.
Rule 5: the fleet summary (`<report dir>/fleet-<UTC timestamp>/summary.html` + `summary.json`, and one
        `results.json` per camera) is written by the xdist controller only (or by the single process
        when xdist is not used); workers send what only they know (identity, write counts) through
        `workeroutput`.

Inventory, TOML::

    [[camera]]
    label = "door-1"
    host = "192.168.1.46"
    http = 80            # HTTP(S) port (also "port")
    rtsp = 554
    discovery = 5566
    user = "admin"
    password_env = "DOOR1_PASSWORD"

or CSV with a header row: ``label,host,http,rtsp,discovery,user,password_env`` (only label and host are
required; the others fall back to the --bview-* options).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
import re
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_bview.options import OPTIONS, Settings, _raw
from pytest_bview.session import AREAS, FLEET_KEY, TARGETS_KEY, open_camera
from pytest_bview.session import settings as _settings
from pytest_bview.verdicts import of_report, worst

LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PORT_KEYS = {"http": ("http", "port"), "rtsp": ("rtsp", "rtsp_port"), "discovery": ("discovery", "discovery_port")}
KNOWN_KEYS = {"label", "host", "user", "scheme", "password_env", "time_scale"} | {
    k for v in PORT_KEYS.values() for k in v
}
SECRET_KEYS = {"password", "pass", "secret"}


@dataclass(frozen=True)
class Camera:
    """One camera of the fleet: its label, its own settings, and for a built-in camera its identity."""

    label: str
    settings: Settings = field(repr=False)
    identity: Any = None  # simulator.device.Identity of a built-in camera
    row: dict[str, Any] | None = None  # its inventory entry


@dataclass
class Fleet:
    cameras: dict[str, Camera]

    def target(self, config: pytest.Config, label: str) -> Any:
        """The Target of camera `label`, opened on first use in this process and kept (session.TARGETS_KEY)."""
        targets = config.stash.setdefault(TARGETS_KEY, {})
        found = targets.get(label)
        if found is None:
            from pytest_bview.target import SessionError

            camera = self.cameras[label]
            try:
                found = open_camera(config, camera.settings, camera.identity)
            except SessionError as err:
                found = err  # remembered: the camera's other tests fail at once instead of waiting again
            targets[label] = found
        if isinstance(found, BaseException):
            pytest.fail(f"bview: camera {label}: {found}", pytrace=False)
        return found


# -- building the fleet ---------------------------------------------------------------------------
def read_inventory(path: Path) -> list[dict[str, Any]]:
    """The rows of a TOML (`[[camera]]` tables) or CSV (header row) inventory."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        rows = [
            {k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(text.splitlines())
        ]
        return [{k: v for k, v in row.items() if v != ""} for row in rows if any(row.values())]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise pytest.UsageError(f"--bview-inventory {path}: not TOML ({err}); use .csv for a CSV file") from None
    found = data.get("camera", data.get("cameras"))
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise pytest.UsageError(f"--bview-inventory {path}: expected [[camera]] tables")
    return found


def _port(row: dict[str, Any], name: str, where: str) -> int | None:
    ports: dict[str, Any] = row["ports"] if isinstance(row.get("ports"), dict) else {}
    raw = next((row[k] for k in PORT_KEYS[name] if k in row), ports.get(name))
    if raw is None:
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{where}: {name} port {raw!r} is not a number") from None
    if not 0 < value < 65536:
        raise pytest.UsageError(f"{where}: {name} port {value} is not 1-65535")
    return value


def inventory_cameras(
    path: Path, base: Settings, config: pytest.Config, sent: dict[str, Any] | None = None
) -> list[Camera]:
    """Cameras of an inventory file, each with settings derived from the session's.

    `sent` is what the controller handed an xdist worker (the rows and the passwords it resolved), so
    that a remote worker (--tx ssh=...) needs neither the file nor the environment variables.
    """
    explicit_scale = _explicit(config, "time-scale")
    explicit_settle = _explicit(config, "settle")
    rows = sent["rows"] if sent else read_inventory(path)
    cameras = []
    for n, row in enumerate(rows, 1):
        where = f"--bview-inventory {path}, camera {n}"
        secret = SECRET_KEYS & {k.lower() for k in row}
        if secret:
            raise pytest.UsageError(
                f"{where}: has {sorted(secret)[0]!r}; an inventory names the environment variable holding the "
                "password (password_env), never the password itself"
            )
        unknown = set(row) - KNOWN_KEYS - {"ports"}
        if unknown:
            raise pytest.UsageError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        label, host = str(row.get("label", "")), str(row.get("host", ""))
        if not LABEL_RE.match(label):
            raise pytest.UsageError(f"{where}: label {label!r} must be 1-64 of A-Z a-z 0-9 . _ - (it names a group)")
        if not host:
            raise pytest.UsageError(f"{where} ({label}): no host")
        password = base.password
        if sent and label in sent["passwords"]:
            password = sent["passwords"][label]
        elif row.get("password_env"):
            env = str(row["password_env"])
            if env not in os.environ:
                raise pytest.UsageError(f"{where} ({label}): environment variable {env} (password_env) is not set")
            password = os.environ[env]
        scale = float(row.get("time_scale", explicit_scale if explicit_scale is not None else 1.0))
        if scale <= 0:
            raise pytest.UsageError(f"{where} ({label}): time_scale must be positive")
        scheme = str(row.get("scheme", base.scheme))
        if scheme not in ("http", "https"):
            raise pytest.UsageError(f"{where} ({label}): scheme {scheme!r} is not http or https")
        settings = dataclasses.replace(
            base,
            host=host,
            port=_port(row, "http", where),
            rtsp_port=_port(row, "rtsp", where),
            discovery_port=_port(row, "discovery", where) or 5566,
            scheme=scheme,
            user=str(row.get("user", base.user)),
            password=password,
            time_scale=scale,
            settle=float(explicit_settle) if explicit_settle is not None else 5.0 * scale,
            sim_count=1,
        )
        cameras.append(Camera(label, settings, row=row))
    labels = Counter(c.label for c in cameras)
    twice = [label for label, k in labels.items() if k > 1]
    if twice:
        raise pytest.UsageError(f"--bview-inventory {path}: label {twice[0]!r} used twice")
    if not cameras:
        raise pytest.UsageError(f"--bview-inventory {path}: no cameras")
    return cameras


def sim_cameras(base: Settings) -> list[Camera]:
    """`--bview-sim-count N` built-in cameras, each its own serial number and MAC address."""
    from pytest_bview.simulator.device import Identity

    firmware = getattr(base, "sim_firmware", None) or Identity.firmware
    width = len(str(base.sim_count))
    return [
        Camera(
            f"sim-{n:0{width}d}",
            dataclasses.replace(base, sim_count=1),
            Identity(serial=f"BV2F{n:08d}", mac=f"02:42:B2:F1:{n >> 8:02X}:{n & 0xFF:02X}", firmware=firmware),
        )
        for n in range(1, base.sim_count + 1)
    ]


def _explicit(config: pytest.Config, name: str) -> Any:
    opt = next(o for o in OPTIONS if o.name == name)
    return _raw(config, opt)


def _fleet_requested(config: pytest.Config) -> bool:
    inventory = _explicit(config, "inventory")
    count = _explicit(config, "sim-count")
    try:
        return bool(inventory) or int(count or 1) > 1 or _xdist(config)
    except ValueError:
        return True  # let resolve() say what is wrong


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _xdist(config: pytest.Config) -> bool:
    """Tests run in xdist workers (the controller, or one of its workers)."""
    return _is_worker(config) or getattr(config.option, "dist", "no") != "no"


SINGLE = "camera"  # the label of the one camera of a run under xdist (Rule 1)


# -- pytest hooks -----------------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    if not _fleet_requested(config):
        return
    base = _settings(config)
    if base.inventory:
        if base.host:
            raise pytest.UsageError("--bview-inventory and --bview-host exclude each other")
        path = Path(base.inventory)
        if not path.is_file() and not _is_worker(config):
            raise pytest.UsageError(f"--bview-inventory {path}: no such file")
        sent = config.workerinput.get("bview_fleet") if _is_worker(config) else None  # type: ignore[attr-defined]
        cameras = inventory_cameras(path, base, config, sent)
    elif base.sim_count > 1:
        if base.host:
            raise pytest.UsageError("--bview-sim-count applies to the built-in camera only (no --bview-host)")
        cameras = sim_cameras(base)
    else:  # one camera, several workers: a fleet of one (Rule 1)
        cameras = [Camera(SINGLE, base)]
    ambiguous = [(a.label, b.label) for a in cameras for b in cameras if a is not b and a.label.endswith("-" + b.label)]
    if ambiguous:
        a, b = ambiguous[0]
        raise pytest.UsageError(f"camera labels {a!r} and {b!r}: a label may not end with '-' and another label")
    dist = getattr(config.option, "dist", "no")
    if dist == "each":
        raise pytest.UsageError("--dist each would test every camera from every worker: use -n N alone")
    if dist != "no":
        config.option.dist = "load"  # CameraScheduling decides (Rule 1); no xdist_group suffix on test ids
    config.option.loadgroup = False
    config.stash[FLEET_KEY] = Fleet({c.label: c for c in cameras})
    config.stash[TARGETS_KEY] = {}
    if not _is_worker(config):
        config.pluginmanager.register(FleetRecorder(config, base), "bview-fleet-recorder")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand each worker the inventory rows and resolved passwords (remote workers)."""
    fleet = node.config.stash.get(FLEET_KEY, None)
    if fleet is not None and any(c.row is not None for c in fleet.cameras.values()):
        node.workerinput["bview_fleet"] = {
            "rows": [c.row for c in fleet.cameras.values()],
            "passwords": {c.label: c.settings.password for c in fleet.cameras.values()},
        }


@pytest.hookimpl(trylast=True)  # after the tests' own parametrize marks: the label ends every test id (Rule 1)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    fleet = metafunc.config.stash.get(FLEET_KEY, None)
    if fleet is None or "bview" not in metafunc.fixturenames:
        return
    params = [pytest.param(label, id=label) for label in fleet.cameras]
    metafunc.parametrize("bview", params, indirect=True, scope="session")


def _label(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("bview") if callspec is not None else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    fleet = item.config.stash.get(FLEET_KEY, None)
    label = _label(item) if fleet is not None else None
    if fleet is not None and label is not None:  # opening it here makes an unreachable one a setup error
        fleet.target(item.config, label)


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(FLEET_KEY, None) is None:
        return
    for target in config.stash.get(TARGETS_KEY, {}).values():
        if not isinstance(target, BaseException):  # a camera that could not be opened
            target.close()
    config.stash[TARGETS_KEY] = {}


# -- Rule 1: the scheduler ----------------------------------------------------------------------------
def camera_of(nodeid: str, labels: list[str]) -> str | None:
    """The camera label a test id ends with (`test_x[...-door-1]` or `test_x[door-1]`), or None."""
    found = [label for label in labels if nodeid.endswith(f"-{label}]") or nodeid.endswith(f"[{label}]")]
    return max(found, key=len) if found else None


def _scheduler_base() -> Any:
    from xdist.scheduler import LoadScopeScheduling

    return LoadScopeScheduling


def make_scheduler(config: pytest.Config, log: Any, labels: list[str]) -> Any:
    """xdist's LoadScopeScheduling whose scope is a test's camera; a test without camera is its own scope."""

    class CameraScheduling(_scheduler_base()):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            label = camera_of(nodeid, labels)
            return f"camera:{label}" if label is not None else nodeid

    return CameraScheduling(config, log)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    fleet = config.stash.get(FLEET_KEY, None)
    if fleet is None:
        return None
    return make_scheduler(config, log, list(fleet.cameras))


def pytest_report_header(config: pytest.Config) -> list[str]:
    fleet = config.stash.get(FLEET_KEY, None)
    if fleet is None:
        return []
    return [f"bview: fleet of {len(fleet.cameras)} cameras: " + ", ".join(_where(c) for c in fleet.cameras.values())]


def _where(camera: Camera) -> str:
    s = camera.settings
    if s.builtin:
        return f"{camera.label} (built-in, serial {camera.identity.serial})"
    return f"{camera.label} ({s.scheme}://{s.host}:{s.port or (443 if s.scheme == 'https' else 80)})"


def camera_facts(config: pytest.Config) -> dict[str, dict[str, Any]]:
    """What this process knows of the cameras it opened (identity, address, counts): JSON-able."""
    from pytest_bview.spec.resources import resource_methods

    total = len(resource_methods())
    facts: dict[str, dict[str, Any]] = {}
    for label, target in config.stash.get(TARGETS_KEY, {}).items():
        if isinstance(target, BaseException):
            facts[label] = {"error": str(target)}
            continue
        facts[label] = {
            "identity": dict(target.identity),
            "address": f"{target.host}:{target.port}",
            "rtsp_port": target.rtsp_port,
            "network_writes": target.client.network_writes,
            "coverage": [len(target.client.all_pairs), total],
        }
    return facts


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if config.stash.get(FLEET_KEY, None) is not None and _is_worker(config):
        config.workeroutput["bview_fleet"] = camera_facts(config)  # type: ignore[attr-defined]


# -- the controller's summary -------------------------------------------------------------------------
verdict_of = of_report  # (one home: verdicts.py)


class FleetRecorder:
    """Controller-side: gathers every test's verdict per camera, writes the fleet summary at the end."""

    def __init__(self, config: pytest.Config, base: Settings) -> None:
        self.config = config
        self.base = base
        self.tests: dict[tuple[str, str], dict[str, Any]] = {}  # (camera, nodeid) -> entry
        self.facts: dict[str, dict[str, Any]] = {}
        self.written: Path | None = None
        self.workers: dict[str, set[str]] = defaultdict(set)  # camera -> xdist workers that ran its tests
        self.labels = list(config.stash[FLEET_KEY].cameras)

    def split(self) -> dict[str, list[str]]:
        """Cameras whose tests ran on more than one worker (Rule 1 broken): label -> workers."""
        return {label: sorted(w) for label, w in self.workers.items() if len(w) > 1}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        camera = camera_of(report.nodeid, self.labels)  # (no user property: it would land in pytest's junit)
        if camera is None:
            return
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        if gateway is not None:
            self.workers[camera].add(str(gateway.id))
        nodeid = report.nodeid
        entry = self.tests.setdefault(
            (camera, nodeid),
            {
                "nodeid": nodeid,
                "areas": [a for a in AREAS if a in report.keywords] or ["other"],
                "verdict": "not run",
                "duration": 0.0,
            },
        )
        entry["duration"] = round(entry["duration"] + report.duration, 4)
        verdict = verdict_of(report)
        if verdict is not None and (entry["verdict"] != "fail" or verdict == "fail"):
            entry["verdict"] = verdict
            if verdict == "fail" and report.longreprtext:
                entry["message"] = report.longreprtext[-2000:]

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        for label, facts in (getattr(node, "workeroutput", None) or {}).get("bview_fleet", {}).items():
            self.facts.setdefault(label, {}).update(facts)

    def summary(self) -> dict[str, Any]:
        fleet: Fleet = self.config.stash[FLEET_KEY]
        for label, facts in camera_facts(self.config).items():  # without xdist this process ran them
            self.facts.setdefault(label, {}).update(facts)
        cameras = []
        for label, camera in fleet.cameras.items():
            tests = sorted((e for (c, _), e in self.tests.items() if c == label), key=lambda e: e["nodeid"])
            per_area: dict[str, Counter[str]] = defaultdict(Counter)
            for entry in tests:
                for area in entry["areas"]:
                    per_area[area][entry["verdict"]] += 1
            areas = {area: {"verdict": worst(counts), "counts": dict(counts)} for area, counts in per_area.items()}
            totals = Counter(e["verdict"] for e in tests)
            cameras.append(
                {
                    "label": label,
                    "builtin": camera.settings.builtin,
                    **self.facts.get(label, {}),
                    "verdict": worst(totals),
                    "totals": dict(totals),
                    "areas": areas,
                    "tests": tests,
                }
            )
        return {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "level": self.base.level,
            "areas": [a for a in (*AREAS, "other") if any(a in c["areas"] for c in cameras)],
            "cameras": cameras,
        }

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        result = yield  # after every other sessionfinish: the per-camera reports are written by then
        if self.split():  # never silent: the camera had concurrent writers, its verdicts mean nothing
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.tests:  # else nothing ran against a camera (collection only, -k matched nothing)
            data = self.summary()
            reports = report_dirs(self.config)
            for cam in data["cameras"]:
                found = reports.get(cam.get("identity", {}).get("SerialNum", ""))
                if found is not None:
                    cam["report"] = str(found)
            self.written = write_summary(data, self.base.report_dir)
        return result

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for label, workers in self.split().items():
            terminalreporter.write_line(
                f"bview: ERROR: camera {label}'s tests ran on {len(workers)} workers ({', '.join(workers)}): one "
                f"camera had concurrent writers, its results are not valid (pytest {pytest.__version__}, "
                f"pytest-xdist {_xdist_version()}); please report this",
                red=True,
                bold=True,
            )
        if self.written is None:
            return
        data = json.loads((self.written / "summary.json").read_text(encoding="utf-8"))
        for cam in data["cameras"]:
            totals = ", ".join(f"{n} {v}" for v, n in sorted(cam["totals"].items())) or "no tests"
            extra = ""
            if "network_writes" in cam:
                done, total = cam["coverage"]
                extra = f"; network-configuration writes: {cam['network_writes']}; spec coverage: {done}/{total}"
            terminalreporter.write_line(f"bview: {cam['label']}: {cam['verdict']} ({totals}){extra}")
        terminalreporter.write_line(f"bview: fleet summary: {self.written / 'summary.html'}")


def _xdist_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-xdist")
    except PackageNotFoundError:
        return "?"


def report_dirs(config: pytest.Config) -> dict[str, Path]:
    """Serial number -> directory of the report the report package wrote for it this session, if any."""
    try:
        from pytest_bview.report.hooks import STATE_KEY
    except ImportError:
        return {}
    collector = config.stash.get(STATE_KEY, None)
    out = {}
    for written in getattr(collector, "written", None) or []:
        serial = str(written.run.identity.get("SerialNum", ""))
        out[serial] = Path(written.directory)
    return out


def write_summary(data: dict[str, Any], report_dir: Path) -> Path:
    """Write `fleet-<UTC timestamp>/` with summary.json, summary.html and <label>/results.json per camera."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir.mkdir(parents=True, exist_ok=True)
    out, n = report_dir / f"fleet-{stamp}", 1
    while True:
        try:
            out.mkdir()
            break
        except FileExistsError:
            n += 1
            out = report_dir / f"fleet-{stamp}-{n}"
    for cam in data["cameras"]:
        (out / cam["label"]).mkdir()
        (out / cam["label"] / "results.json").write_text(json.dumps(cam, indent=1), encoding="utf-8")
    slim = {**data, "cameras": [{k: v for k, v in c.items() if k != "tests"} for c in data["cameras"]]}
    (out / "summary.json").write_text(json.dumps(slim, indent=1), encoding="utf-8")
    from pytest_bview.report.render import fleet_summary

    (out / "summary.html").write_text(fleet_summary(data), encoding="utf-8")
    return out
