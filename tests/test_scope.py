"""Honest scope: a run that did not execute the whole selection says *partial* on every page and issues no
declaration; the spec coverage counts the checks' requests only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECKS = '''
import pytest

@pytest.mark.readonly
def test_identity(bview):
    """9.2.4: DeviceInfo answers."""
    assert bview.client.get("/System/DeviceInfo").status == 200

@pytest.mark.readonly
def test_color(bview):
    """9.6.1.3: Color answers."""
    assert bview.client.get("/Images/1/Color").status == {status}
'''


def _suites(pytester: pytest.Pytester, status: int = 200) -> None:
    pytester.mkpydir("mysuites")
    (pytester.path / "mysuites" / "test_a.py").write_text(CHECKS.format(status=status))
    (pytester.path / "mysuites" / "test_b.py").write_text(
        CHECKS.format(status=200).replace("test_", "test_b_").replace("@pytest.mark.readonly\n", "")
    )


def _results(reports: Path) -> dict:
    return json.loads(next(reports.rglob("results.json")).read_text("utf-8"))


def _junit_scope(reports: Path) -> str | None:
    import xml.etree.ElementTree as ET

    run = next(reports.rglob("results.json")).parent
    props = ET.parse(run / "junit.xml").getroot().find("properties")
    assert props is not None
    return next((p.get("value") for p in props if p.get("name") == "scope"), None)


def _pages(reports: Path) -> tuple[str, str, str]:
    run = next(reports.rglob("results.json")).parent
    index = (reports / "index.html").read_text("utf-8")
    return (run / "report.html").read_text("utf-8"), (run / "declaration.html").read_text("utf-8"), index


def test_whole_selection_is_full(pytester: pytest.Pytester) -> None:
    """Only the certification profile's whole selection is full (tests/test_profiles.py: the others)."""
    _suites(pytester)
    result = pytester.runpytest_inprocess(
        "mysuites", "--bview-profile", "certification", "--bview-report-dir=reports", "-p", "no:cacheprovider"
    )
    assert result.ret == 0, result.stdout.str()[-2000:]
    scope = _results(pytester.path / "reports")["scope"]
    assert scope["partial"] is False and scope["reasons"] == [] and scope["left_out_count"] == 0
    report, declaration, index = _pages(pytester.path / "reports")
    assert "Partial run" not in report and "conforms to every requirement checked" in declaration
    assert ">full</td>" in index
    assert _junit_scope(pytester.path / "reports") == "full"


@pytest.mark.parametrize(
    "args,reason",
    [
        (["mysuites", "-k", "color"], "-k 'color'"),
        (["mysuites", "-m", "readonly"], "-m 'readonly'"),
        (["mysuites/test_a.py"], "1 test modules not selected"),
        (["mysuites", "--deselect", "mysuites/test_b.py::test_b_color"], "1 tests deselected"),
    ],
)
def test_selection_is_partial(pytester: pytest.Pytester, args: list[str], reason: str) -> None:
    _suites(pytester)
    pytester.runpytest_inprocess(*args, "--bview-report-dir=reports", "-p", "no:cacheprovider")
    scope = _results(pytester.path / "reports")["scope"]
    assert scope["partial"] is True and reason in scope["reasons"], scope
    assert scope["left_out_count"] >= 1 and scope["left_out"]
    report, declaration, index = _pages(pytester.path / "reports")
    assert "Partial run" in report
    assert "not a declaration of conformance" in declaration and "conforms to every requirement" not in declaration
    assert ">partial</td>" in index
    assert _junit_scope(pytester.path / "reports") == "partial"


def test_stop_after_first_failure_is_partial(pytester: pytest.Pytester) -> None:
    _suites(pytester, status=599)  # test_a.py::test_color fails
    result = pytester.runpytest_inprocess("mysuites", "-x", "--bview-report-dir=reports", "-p", "no:cacheprovider")
    assert result.ret == 1
    scope = _results(pytester.path / "reports")["scope"]
    assert scope["partial"] and any(r.startswith("stopped early") for r in scope["reasons"]), scope
    assert "mysuites/test_b.py::test_b_identity" in scope["left_out"]
    result.stdout.fnmatch_lines(["*PARTIAL run (*stopped early*"])


def test_coverage_counts_checks_only(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A reversible check writes one resource: snapshot, restore and health probes are not its coverage."""
    result = pytester.runpytest_inprocess(
        str(ROOT / "suites/test_config.py::test_round_trip"),
        "-k",
        "Color",
        f"--rootdir={ROOT}",
        f"--bview-report-dir={tmp_path / 'reports'}",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 0, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines(["*device state restored: 39/39*", "spec coverage: 2/130 resource-methods"])
