"""The plugin's options as a table (CONTRACT.md), resolved command line > environment > ini > default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

LEVELS = ("readonly", "reversible", "disruptive")
BUILTIN_TIME_SCALE = 0.01


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
        "factory default, firmware, network identity and format.",
        str,
        "reversible",
        LEVELS,
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
        "sim-fault",
        "With the built-in camera: switch on a fault profile (repeatable; see bview-sim --list-faults).",
        str,
        None,
        None,
        True,
    ),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("bview", "B-View 2 conformance")
    for opt in OPTIONS:
        kwargs: dict[str, Any] = {"dest": opt.dest, "help": opt.help, "default": None}
        if opt.multiple:
            kwargs["action"] = "append"
        else:
            kwargs["type"] = opt.type
        if opt.choices:
            kwargs["choices"] = opt.choices
        group.addoption(opt.flag, **kwargs)
        parser.addini(opt.dest, opt.help, type="linelist" if opt.multiple else "string", default=None)


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

    @property
    def builtin(self) -> bool:
        return not self.host

    def allows(self, level: str) -> bool:
        return LEVELS.index(level) <= LEVELS.index(self.level)


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
        if opt.choices and values[opt.dest[6:]] not in opt.choices:
            raise pytest.UsageError(f"{opt.flag}: {raw!r} is not one of {', '.join(opt.choices)}")
    builtin = not values["host"]
    scale = values["time_scale"] if values["time_scale"] is not None else (BUILTIN_TIME_SCALE if builtin else 1.0)
    if scale <= 0:
        raise pytest.UsageError("--bview-time-scale must be positive")
    values["time_scale"] = scale
    if values["settle"] is None:
        values["settle"] = 5.0 * scale
    values["report_dir"] = Path(values["report_dir"])
    if values["discovery_port"] is None:
        values["discovery_port"] = 0 if builtin else 5566  # concurrent built-in cameras must not hear each other
    if values["timeout"] <= 0:
        raise pytest.UsageError("--bview-timeout must be positive")
    return Settings(**values)
