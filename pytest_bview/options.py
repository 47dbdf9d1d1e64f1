"""The plugin's options as a table, resolved command line > environment > ini > default."""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

LEVELS = ("readonly", "reversible", "disruptive")
PROFILES = ("acceptance", "regression", "certification")
BUILTIN_TIME_SCALE = 0.01


def boolean(raw: Any) -> bool:
    """A yes/no option: a bare flag on the command line, 1/true/yes in the environment or ini."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)


@dataclass(frozen=True)
class Option:
    name: str  # without the --bview- prefix
    help: str
    type: Any = str
    default: Any = None
    choices: tuple[str, ...] | None = None
    multiple: bool = False

    @property
    def flag(self) -> str:
        return f"--bview-{self.name}"

    @property
    def dest(self) -> str:
        return "bview_" + self.name.replace("-", "_")

    @property
    def env(self) -> str:
        return self.dest.upper()


OPTIONS: tuple[Option, ...] = (
    Option("host", "Camera address; when absent the built-in reference camera is started for the run."),
    Option("port", "HTTP(S) port (default 80, 443 for https).", int),
    Option("scheme", "URL scheme.", str, "http", ("http", "https")),
    Option("user", "User name of the admin account.", str, "admin"),
    Option("password", "Password of the admin account (never written to any report).", str, "admin"),
    Option("rtsp-port", "RTSP port (default 554).", int),
    Option("channel", "Video channel under test.", int, 1),
    Option(
        "level",
        "Safety tier: readonly never writes; reversible writes and restores; disruptive adds reboot, "
        "factory default, firmware, network identity and format (default: the profile's, reversible).",
        str,
        None,  # the profile's (profiles.py); certification needs disruptive
        LEVELS,
    ),
    Option(
        "profile",
        "Run profile: acceptance (a short per-unit run), regression (the whole selection at --bview-level) or "
        "certification (everything, disruptive included; the only one that declares conformance).",
        str,
        "regression",
        PROFILES,
    ),
    Option(
        "time-scale",
        "Multiplies every device-imposed wait the suite honours (default 1 with --bview-host, "
        f"{BUILTIN_TIME_SCALE} for the built-in camera).",
        float,
    ),
    Option(
        "settle", "Minimum spacing in seconds between network-configuration writes (default 5 x time scale).", float
    ),
    Option("timeout", "Deadline in seconds for one request, from connect to the last byte.", float, 10.0),
    Option("report-dir", "Directory of the per-firmware reports.", str, "reports"),
    Option("expectations", "File of known deviations per model/firmware (expected results, waivers)."),
    Option("inventory", "File listing many cameras for fleet runs."),
    Option("sim-count", "With the built-in camera: number of reference cameras to start.", int, 1),
    Option("discovery-port", "UDP port of Discovery V2 (default 5566; the built-in camera takes a free one).", int),
    Option("discovery-iface", "Send Discovery V2 as raw frames on this interface (needs root)."),
    Option(
        "ssdp-port",
        "UDP port of the camera's SSDP (UPnP discovery, spec 5; default 1900; the built-in camera takes a free one).",
        int,
        1900,
    ),
    Option("restore-from", "Repair the camera from the journal in this directory (or file), then exit."),
    Option(
        "sim-fault",
        "With the built-in camera: switch on a fault profile (repeatable; see bview-sim --list-faults).",
        str,
        None,
        None,
        True,
    ),
    Option(
        "sim-variant",
        "With the built-in camera: switch on a conformant variant (repeatable; see bview-sim --list-variants).",
        str,
        None,
        None,
        True,
    ),
    Option("sim-firmware", "With the built-in camera: the firmware version it reports (SoftWareVersion)."),
    Option("firmware", "Firmware package (.pkg) for the real upgrade check of the disruptive tier (9.2.6)."),
    Option(
        "spare-address",
        "A free address in the camera's subnet the disruptive tier may move it to for a while (9.1.7.1.1); "
        "without it a real camera's address change is skipped (the built-in camera picks a free loopback one).",
    ),
    Option(
        "callback-host",
        "Address of this machine the camera can reach: the SMTP, FTP and HTTP receivers bind to it "
        "(default 127.0.0.1 for the built-in camera; without it a real camera's callback checks are skipped).",
    ),
    Option(
        "update-expectations",
        "Write the --bview-expectations file from this run (a baseline: later runs fail only on what is new).",
        boolean,
        False,
    ),
    Option("ca", "CA certificate (PEM file) an https camera's certificate is verified against (default: system CAs)."),
    Option(
        "insecure", "https without certificate verification (self-signed cameras; never the default).", boolean, False
    ),
    Option(
        "strict",
        "Fail the checks of SHOULD- and MAY-level rules too (by default their failures are advisories).",
        boolean,
        False,
    ),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("bview", "B-View 2 conformance")
    for opt in OPTIONS:
        kwargs: dict[str, Any] = {"dest": opt.dest, "help": opt.help, "default": None}
        if opt.multiple:
            kwargs["action"] = "append"
        elif opt.type is boolean:
            kwargs["action"] = "store_true"
        else:
            kwargs["type"] = opt.type
        if opt.choices:
            kwargs["choices"] = opt.choices
        group.addoption(opt.flag, **kwargs)
        kind: Any = "linelist" if opt.multiple else "string"
        parser.addini(opt.dest, opt.help, type=kind, default=None)


@dataclass(frozen=True)
class Settings:
    host: str | None
    port: int | None
    scheme: str
    user: str
    password: str = field(repr=False)
    rtsp_port: int | None
    channel: int
    level: str
    time_scale: float
    settle: float
    timeout: float
    report_dir: Path
    expectations: str | None
    inventory: str | None
    sim_count: int
    discovery_port: int
    discovery_iface: str | None
    sim_fault: tuple[str, ...]
    sim_variant: tuple[str, ...] = ()
    restore_from: str | None = None
    sim_firmware: str | None = None
    firmware: str | None = None
    spare_address: str | None = None
    callback_host: str | None = None
    update_expectations: bool = False
    ca: str | None = None
    insecure: bool = False
    ssdp_port: int = 1900
    strict: bool = False
    profile: str = "regression"

    @property
    def builtin(self) -> bool:
        return not self.host

    def allows(self, level: str) -> bool:
        return LEVELS.index(level) <= LEVELS.index(self.level)

    def device_seconds(self, wall_min: float, least: int = 1, most: int | None = None) -> int:
        """A duration a check chooses for the camera (a post-record time, an alarm interval, a motion hold), in
        camera seconds: the shortest in [least, most] that still lasts `wall_min` wall seconds at this time
        scale, wide enough to tell its effect apart on a busy machine. At real timing that is the spec's least,
        not minutes of waiting; at the suites' 0.01 it is `wall_min` of wall time."""
        wanted = max(least, math.ceil(wall_min / self.time_scale - 1e-9)) if self.time_scale > 0 else least
        return min(wanted, most) if most is not None else wanted


def tier_of(item: Any) -> str:
    """The safety tier a test needs: its highest tier mark, reversible when it has none."""
    return next((lvl for lvl in reversed(LEVELS) if item.get_closest_marker(lvl)), "reversible")


def _raw(config: pytest.Config, opt: Option) -> Any:
    value = config.getoption(opt.dest, None)
    if value is not None:
        return value
    env = os.environ.get(opt.env)
    if env not in (None, ""):
        return env.split(",") if opt.multiple else env
    ini = config.getini(opt.dest)
    if ini not in (None, "", []):
        return ini
    return opt.default


def _profile_level(profile: str, level: str | None) -> str:
    """The profile's tier unless --bview-level says otherwise; certification admits no other tier."""
    from pytest_bview.profiles import PROFILES as TABLE

    p = TABLE[profile]
    if level is not None and level != p.level and p.fixed_level:
        raise pytest.UsageError(
            f"--bview-profile {profile} runs everything at --bview-level {p.level}; --bview-level {level} contradicts "
            f"it (use --bview-profile regression --bview-level {level})"
        )
    return level or p.level


def resolve(config: pytest.Config) -> Settings:
    """Settings from command line, environment and ini; bad values become one UsageError."""
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        raw = _raw(config, opt)
        try:
            if opt.multiple:
                values[opt.dest[6:]] = tuple(raw or ())
            else:
                values[opt.dest[6:]] = opt.type(raw) if raw is not None else None
        except (TypeError, ValueError):
            raise pytest.UsageError(f"{opt.flag}: {raw!r} is not a valid {opt.type.__name__}") from None
        if opt.choices and raw is not None and values[opt.dest[6:]] not in opt.choices:
            raise pytest.UsageError(f"{opt.flag}: {raw!r} is not one of {', '.join(opt.choices)}")
    values["level"] = _profile_level(values["profile"], values["level"])
    builtin = not values["host"]
    scale = values["time_scale"] if values["time_scale"] is not None else (BUILTIN_TIME_SCALE if builtin else 1.0)
    if scale <= 0:
        raise pytest.UsageError("--bview-time-scale must be positive")
    values["time_scale"] = scale
    if values["settle"] is None:
        from pytest_bview.spec.facts import NETWORK_SETTLE_S

        values["settle"] = NETWORK_SETTLE_S * scale
    values["report_dir"] = Path(values["report_dir"])
    if values["discovery_port"] is None:
        values["discovery_port"] = 0 if builtin else 5566  # concurrent built-in cameras must not hear each other
    if not 1 <= values["ssdp_port"] <= 65535:
        raise pytest.UsageError(f"--bview-ssdp-port: {values['ssdp_port']} is not a UDP port (1-65535)")
    if values["timeout"] <= 0:
        raise pytest.UsageError("--bview-timeout must be positive")
    if values.get("ca") and not Path(values["ca"]).is_file():
        raise pytest.UsageError(f"--bview-ca: no such file {values['ca']!r}")
    if values.get("ca") and values.get("insecure"):
        raise pytest.UsageError("--bview-ca and --bview-insecure contradict each other: choose one")
    if values.get("spare_address"):
        try:
            ipaddress.ip_address(values["spare_address"])
        except ValueError:
            raise pytest.UsageError(f"--bview-spare-address: {values['spare_address']!r} is not an address") from None
    return Settings(**values)
