"""Run profiles (pytest_bview/profiles.py): what each selects, the tier it implies, and that only certification
issues a declaration of conformance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_bview.profiles import ACCEPTANCE, in_acceptance, matches

ROOT = Path(__file__).resolve().parents[1]

CHECKS = '''
import pytest

@pytest.mark.readonly
def test_identity(bview):
    """9.2.4: DeviceInfo answers."""
    assert bview.client.get("/System/DeviceInfo").status == 200

@pytest.mark.disruptive
def test_disruptive(bview):
    """Runs only where the disruptive tier is allowed."""
    assert bview.settings.level == "disruptive"

@pytest.mark.readonly
def test_level(bview):
    print("LEVEL", bview.settings.level, bview.settings.profile)
'''


def _collect(pytester: pytest.Pytester, *args: str) -> tuple[list[str], str]:
    """The node ids a collection of the real suites selects (nothing is run, no camera opened)."""
    result = pytester.runpytest_subprocess(
        str(ROOT / "suites"), f"--rootdir={ROOT}", "--collect-only", "-q", "-p", "no:cacheprovider", *args
    )
    assert result.ret == 0, result.stdout.str()[-2000:] + result.stderr.str()[-2000:]
    ids = [line for line in result.stdout.lines if "::" in line]
    return ids, result.stdout.str()


def test_each_profile_selects_what_it_should(pytester: pytest.Pytester) -> None:
    """acceptance: every row of ACCEPTANCE matches a check of suites/ (none silently lost), nothing else is
    selected, and the rest is reported as deselected; regression (the default) and certification: everything."""
    everything, _ = _collect(pytester)
    ids, out = _collect(pytester, "--bview-profile", "acceptance")
    accepted = list(ids)
    assert ids and all(in_acceptance(n) for n in ids), ids
    assert sorted(ids) == sorted(n for n in everything if in_acceptance(n))
    for what, pattern in ACCEPTANCE:
        assert any(matches(n, pattern) for n in ids), f"{what}: no check of suites/ matches {pattern!r}"
    # profiles.py Rule 4: what the table cannot select is not even made into items (a fleet worker's CPU)
    assert "deselected" not in out.splitlines()[-1], out[-500:]
    assert any("test_media.py::test_resolution[" in n for n in ids) and any("test_round_trip[" in n for n in ids)
    ids, _ = _collect(pytester, "--bview-profile", "certification")
    assert ids == everything
    fleet, _ = _collect(pytester, "--bview-profile", "acceptance", "--bview-sim-count", "2")
    assert len(fleet) == 2 * len(accepted), "a fleet's camera labels must not hide a check from the table"


def test_pattern_brackets_are_literal() -> None:
    assert matches("suites/test_media.py::test_sdp[main]", "test_media.py::test_sdp[*]")
    assert not matches("suites/test_media.py::test_sdp[main]", "test_media.py::test_sdp[m]")
    assert matches("a/b.py::t[GET /System/DeviceInfo]", "b.py::t[GET /System/DeviceInfo]")
    assert not matches("a/b.py::t[GET /System/DeviceInfoX]", "b.py::t[GET /System/DeviceInfo]")


@pytest.mark.parametrize(
    "args,level,disruptive",
    [
        ([], "reversible", "skipped"),
        (["--bview-profile", "regression"], "reversible", "skipped"),
        (["--bview-profile", "regression", "--bview-level", "disruptive"], "disruptive", "passed"),
        (["--bview-level", "readonly"], "readonly", "skipped"),
        (["--bview-profile", "certification"], "disruptive", "passed"),
        (["--bview-profile", "certification", "--bview-level", "disruptive"], "disruptive", "passed"),
    ],
)
def test_profile_sets_the_level(pytester: pytest.Pytester, args: list[str], level: str, disruptive: str) -> None:
    """A profile's tier applies unless --bview-level says otherwise (certification: only disruptive)."""
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest_inprocess("-s", "-rA", "--bview-report-dir=reports", "-p", "no:cacheprovider", *args)
    result.stdout.fnmatch_lines([f"*LEVEL {level} *"])
    if disruptive == "skipped":
        result.stdout.fnmatch_lines(["SKIPPED*test_checks.py:*needs --bview-level disruptive*"])
    else:
        result.stdout.fnmatch_lines(["PASSED*test_checks.py::test_disruptive*"])


def test_certification_with_another_level_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest_inprocess("--bview-profile", "certification", "--bview-level", "reversible")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--bview-profile certification*--bview-level reversible contradicts*"])
    monkeypatch.setenv("BVIEW_PROFILE", "certification")
    monkeypatch.setenv("BVIEW_LEVEL", "readonly")
    result = pytester.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def _scope(reports: Path) -> tuple[dict, str]:
    run = next(reports.rglob("results.json")).parent
    doc = json.loads((run / "results.json").read_text("utf-8"))
    return doc["scope"], (run / "declaration.html").read_text("utf-8")


def test_only_certification_declares(pytester: pytest.Pytester) -> None:
    """The same whole selection: regression gets no declaration, certification does (acceptance: below)."""
    pytester.makepyfile(test_checks=CHECKS)
    pytester.runpytest_inprocess("--bview-report-dir=reports", "-p", "no:cacheprovider")
    scope, declaration = _scope(pytester.path / "reports")
    assert scope["partial"] is False and scope["declares"] is False, scope  # whole profile, no certification
    assert "not a declaration of conformance" in declaration and "conforms to every requirement" not in declaration

    pytester.runpytest_inprocess(
        "--bview-profile", "certification", "--bview-report-dir=cert", "-p", "no:cacheprovider"
    )
    scope, declaration = _scope(pytester.path / "cert")
    assert scope["partial"] is False and scope["reasons"] == [] and scope["declares"] is True, scope
    assert "conforms to every requirement checked" in declaration


def test_acceptance_run_restores_and_reports_its_deselection(pytester: pytest.Pytester) -> None:
    """The acceptance profile against the built-in camera: its checks pass, the camera is restored N/N, and
    the report names what the profile left out."""
    result = pytester.runpytest_subprocess(
        str(ROOT / "suites"),
        f"--rootdir={ROOT}",
        "--bview-profile",
        "acceptance",
        f"--bview-report-dir={pytester.path / 'reports'}",
        "-p",
        "no:cacheprovider",
    )
    out = result.stdout.str()
    assert result.ret == 0, out[-3000:]
    assert re.search(r"device state restored: (\d+)/\1 resources identical", out), out[-2000:]
    result.stdout.fnmatch_lines(
        ["*tests deselected by the acceptance profile, and * test modules and functions it does not collect*"]
    )
    scope, declaration = _scope(pytester.path / "reports")
    assert scope["partial"] is False and scope["declares"] is False and scope["profile_left_out"] > 0, scope
    assert scope["profile_not_generated"] > 0, scope
    assert not any("test modules not selected" in r for r in scope["reasons"]), scope
    assert "not a declaration of conformance" in declaration
