"""Unit tests of the reference camera's maintenance formats: firmware packages, configuration files,
the auto-maintenance schedule and `bview-sim make-firmware` (simulator/maintenance.py, ERRATA.md L17-L19)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from pytest_bview.simulator.cli import main
from pytest_bview.simulator.maintenance import (
    PKG_HEADER,
    UPGRADE_CORRUPT,
    UPGRADE_EMPTY,
    UPGRADE_TRUNCATED,
    UPGRADE_WRONG_MODEL,
    ConfigFileError,
    PackageError,
    export_config,
    maintenance_due,
    make_package,
    parse_package,
    read_config,
    validate_resource,
)
from pytest_bview.spec.status import Status

MODEL = "BV-IPC2-5MP"


def test_package_round_trip() -> None:
    pkg = parse_package(make_package(MODEL, "2.0.1", b"payload"), MODEL)
    assert (pkg.model, pkg.version, pkg.content) == (MODEL, "2.0.1", b"payload")
    assert PKG_HEADER.size == 104


@pytest.mark.parametrize(
    "damage,code",
    [
        (lambda d: b"", UPGRADE_EMPTY),
        (lambda d: d[:50], UPGRADE_TRUNCATED),
        (lambda d: d[:-1], UPGRADE_TRUNCATED),
        (lambda d: d + b"x", UPGRADE_CORRUPT),
        (lambda d: d[:-3] + bytes([d[-3] ^ 1]) + d[-2:], UPGRADE_CORRUPT),  # content bit flip: SHA-256
        (lambda d: d[:20] + bytes([d[20] ^ 1]) + d[21:], UPGRADE_CORRUPT),  # header bit flip: CRC-32
        (lambda d: b"GIF89a" + d[6:], UPGRADE_CORRUPT),
        (lambda d: b"not a package", UPGRADE_CORRUPT),
    ],
    ids=["empty", "header-cut", "content-cut", "trailing", "content-flip", "header-flip", "magic", "garbage"],
)
def test_bad_packages_refused_with_positive_codes(damage, code: int) -> None:
    with pytest.raises(PackageError) as err:
        parse_package(damage(make_package(MODEL, "2.0.1")), MODEL)
    assert err.value.code == code > 0  # chapter 7 note: > 0 is an update failure


def test_wrong_model_refused() -> None:
    with pytest.raises(PackageError) as err:
        parse_package(make_package("OTHER", "2.0.1"), MODEL)
    assert err.value.code == UPGRADE_WRONG_MODEL


def test_bad_versions_are_not_packaged() -> None:
    for bad in ("", "x", "2", "2.0.1-beta", "1.2.3.4.5"):
        with pytest.raises(ValueError):
            make_package(MODEL, bad)


def test_make_firmware_command(tmp_path: Path) -> None:
    out = tmp_path / "fw.pkg"
    assert main(["make-firmware", "--version", "2.0.1", "-o", str(out)]) == 0
    assert parse_package(out.read_bytes(), MODEL).version == "2.0.1"
    assert main(["make-firmware", "--version", "two", "-o", str(out)]) == 2


# -- configuration files -------------------------------------------------------------------------------------

RESOURCES = {
    "/Images/1/Color": {"Mode": "manual", "Brightness": "61", "Contrast": "50", "Saturation": "50", "Hue": "50"},
    "/System/Users": {"User": [{"ID": "0", "UserName": "admin", "Password": "secret", "UserLevel": "Adminstrator"}]},
}
META = {"model": MODEL, "serial": "S1", "firmware": "2.0.0", "format": "1"}


def test_config_file_round_trip_and_opaque() -> None:
    data = export_config(RESOURCES, META)
    assert b"secret" not in data  # opaque: no password in clear
    meta, rows = read_config(data)
    assert meta == META and dict(rows) == RESOURCES


@pytest.mark.parametrize(
    "damage",
    [lambda d: d[: len(d) // 2], lambda d: d[:-1] + bytes([d[-1] ^ 1]), lambda d: b"XXXXXXXX" + d[8:], lambda d: b""],
    ids=["truncated", "flipped", "magic", "empty"],
)
def test_damaged_config_file_refused(damage) -> None:
    with pytest.raises(ConfigFileError) as err:
        read_config(damage(export_config(RESOURCES, META)))
    assert err.value.code == Status.XML_URL_MISMATCH


def test_config_values_validated() -> None:
    assert validate_resource("/Images/1/Color", RESOURCES["/Images/1/Color"]) is None
    assert "Brightness" in (validate_resource("/Images/1/Color", {"Brightness": "101"}) or "")
    assert validate_resource("/Nowhere", {}) is not None
    assert validate_resource("/System/Users", {"User": []}) is not None  # no admin


# -- 9.2.4 schedule -----------------------------------------------------------------------------------------

# 2024-01-03 is a Wednesday: index 3 of a Sunday-first mask
WED = datetime(2024, 1, 3, 12, 0, 0)


def _doc(mode: str, mask: str = "0000000", when: str = "20240103T120005", enable: str = "true") -> dict[str, str]:
    return {"Enable": enable, "Mode": mode, "WeekDayMask": mask, "MaintenanceTime": when}


@pytest.mark.parametrize(
    "doc,due",
    [
        (_doc("everyday", when="20200101T120005"), True),  # the time of day counts, not the date
        (_doc("everyweek", "0001000"), True),
        (_doc("everyweek", "1110111"), False),
        (_doc("once"), True),
        (_doc("once", when="20240104T120005"), False),
        (_doc("everyday", enable="false"), False),
        (_doc("everyday", when="20240103T120011"), False),  # not yet
    ],
    ids=["everyday", "everyweek-today", "everyweek-other-day", "once", "once-tomorrow", "disabled", "later"],
)
def test_maintenance_due(doc: dict[str, str], due: bool) -> None:
    assert maintenance_due(doc, WED, WED.replace(second=10)) is due


def test_maintenance_due_across_midnight() -> None:
    doc = _doc("everyday", when="20240101T000001")
    assert maintenance_due(doc, datetime(2024, 1, 3, 23, 59, 58), datetime(2024, 1, 4, 0, 0, 2))
