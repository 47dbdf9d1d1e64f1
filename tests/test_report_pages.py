"""The pages a QA lead reads (issue 18): the fleet summary in the report's style and verdict order, one
entry for a message repeated by many tests (an unreachable camera), section titles from the spec's index,
the first-screen parts of report.html, and index.html's serial, level and selection columns."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from pytest_bview.report import model as m
from pytest_bview.report import render
from pytest_bview.report.runs import write_index, write_run
from pytest_bview.simulator.camera import CameraOptions, CameraThread
from pytest_bview.spec.resources import RESOURCES
from pytest_bview.spec.sections import SECTIONS, title, titled
from pytest_bview.verdicts import ADVISORY, FAIL, INCONCLUSIVE, NOT_RUN, NOT_SUPPORTED, PASS, WAIVED, worst

SUITE = """
import pytest

@pytest.mark.readonly
@pytest.mark.system
@pytest.mark.parametrize("n", range(5))
def test_reads(bview, n):
    bview.read("/System/DeviceInfo")
"""


def test_every_resource_section_has_a_title() -> None:
    """9.1.7.1.1 reads "/Network/Interfaces/NetworkCardID/IPAddress"; every section of a resource has one."""
    assert title("9.1.7.1.1") == "/Network/Interfaces/NetworkCardID/IPAddress"
    assert titled("9.6.1.3") == "9.6.1.3 /Images/ChannelID/Color"
    assert title("9.7.1.4") == "/Pictures/ChannelID/Mosaic"  # the heading, not the index's 9.7.1.3
    assert title("9.2.1") == "/System/Time or /System/Users/1"  # the spec numbers it twice
    assert title("9.2.1", "/System/Users/1") == "/System/Users/1"
    assert titled("99.1") == "99.1"
    missing = [r.section for r in RESOURCES if r.section not in SECTIONS]
    assert not missing, missing


@pytest.mark.parametrize(
    "counts, shown",
    [
        ({PASS: 80, FAIL: 1}, FAIL),
        ({PASS: 80, WAIVED: 1, ADVISORY: 2}, WAIVED),
        ({PASS: 80, INCONCLUSIVE: 1}, INCONCLUSIVE),
        ({PASS: 3, NOT_SUPPORTED: 2}, PASS),
        ({NOT_RUN: 4}, NOT_RUN),
        ({}, NOT_RUN),
    ],
)
def test_one_verdict_order(counts: dict[str, int], shown: str) -> None:
    """A matrix cell of the report and an area of the fleet summary show the same verdict for the same tests."""
    assert worst(counts) == shown
    area = {"verdict": worst(counts), "counts": counts}
    data = {
        "created": "t",
        "level": "readonly",
        "areas": ["system"],
        "cameras": [{"label": "c", "verdict": worst(counts), "totals": counts, "areas": {"system": area}, "tests": []}],
    }
    html = render.fleet_summary(data)
    assert f"<td class='{render.CLASS[shown]}'" in html


@pytest.mark.slow
def test_fleet_summary_groups_an_unreachable_camera(pytester: pytest.Pytester) -> None:
    """One reachable camera and one whose port refuses: the summary lists the refusal once, for all its tests."""
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with CameraThread(CameraOptions(time_scale=0.01, discovery_port=0, ssdp_port=0)) as up:
        pytester.makepyfile(test_fleet_suite=SUITE)
        pytester.makefile(
            ".csv",
            inventory=f"label,host,http,rtsp\nup,127.0.0.1,{up.ports['http']},{up.ports['rtsp']}\n"
            f"down,127.0.0.1,{closed},{closed}\n",
        )
        result = pytester.runpytest_inprocess(
            "--bview-inventory=inventory.csv", "--bview-time-scale", "0.01", "--bview-report-dir", "out"
        )
    (where,) = (pytester.path / "out").glob("fleet-*")
    html = (where / "summary.html").read_text()
    assert result.ret != 0
    failures = html[html.index('id="failures"') :]
    assert failures.count("<details") == 1, failures[:3000]  # five tests, one message
    assert "5 tests" in failures and failures.count("<li>down: ") == 5
    assert "banner fail" in html and "class='pass'" in html and "class='fail'" in html
    assert render.CSS in html and "<script" not in html  # the report's style, self-contained


def _run(**scope: object) -> m.Run:
    tests = [
        m.TestResult("suites/test_a.py::test_ok", section="9.2.4", verdict=PASS),
        m.TestResult(
            "suites/test_a.py::test_color",
            section="9",
            resource="/Images/{ChannelID}/Color",
            verdict=FAIL,
            evidence={"section": "9.6.1.3", "did": "answered <Mode>x</Mode>", "requires": "auto or manual"},
        ),
        m.TestResult("suites/test_a.py::test_reboot", section="9.2.7", reason="needs --bview-level disruptive"),
        m.TestResult("suites/test_a.py::test_factory", section="9.2.8", reason="needs --bview-level disruptive"),
    ]
    return m.Run(
        identity={"DeviceTypeName": "BV-X", "SoftWareVersion": "3.1", "SerialNum": "SN-77"},
        tests=tests,
        options={"level": "reversible"},
        started="2026-11-25T18:00:00Z",
        finished="2026-11-25T18:01:00Z",
        scope=dict(scope),
        latency={"GET /System/DeviceInfo": {"n": 1, "p50": 1.0, "p95": 1.0, "max": 1.0}},
    )


def test_report_first_screen_parts() -> None:
    """Banner, then contents and what failed (spec title, link to the evidence), before any long table."""
    html = render.report(_run())
    order = [html.index(x) for x in ('id="verdict"', 'id="contents"', 'id="broke"', 'id="failures"', 'id="matrix"')]
    assert order == sorted(order)
    assert 'class="banner fail"' in html and "9.6.1.3 /Images/ChannelID/Color" in html
    anchor = re.search(r'id="broke".*?href="#(t\d+)"', html, re.S).group(1)
    assert f"<details id='{anchor}' open>" in html
    # tests not run: one row per reason, with its count
    assert re.search(r"<td class='num'>2</td><td>needs --bview-level disruptive", html)
    for table in ("sections", "matrix", "latency"):
        folded = html[: html.index(f'id="{table}"')].rsplit("<details", 1)[1]
        assert " open" not in folded.split(">")[0] and "</details>" not in folded
    partial = _run(partial=True, reasons=["-k x"], selection="-k x")
    assert 'class="banner fail"' in render.report(partial)  # failures outrank "partial"
    partial.tests = [t for t in partial.tests if t.verdict != FAIL]
    assert 'class="banner partial"' in render.report(partial)
    assert 'class="banner pass"' in render.report(m.Run(identity={}, tests=partial.tests))


def test_index_has_serial_level_and_selection(tmp_path: Path) -> None:
    run = _run(partial=True, reasons=["-k 'color'"], selection="suites -k color", left_out=[])
    write_run(run, tmp_path, m.Redactor(None, None))
    html = write_index(tmp_path).read_text()
    head = html[html.index("<tr>") : html.index("</tr>")]
    assert all(f"<th>{c}</th>" in head for c in ("serial", "level", "scope", "selection", "verdict"))
    assert "<td>SN-77</td>" in html and "<td>reversible</td>" in html and "<code>suites -k color</code>" in html
    assert ">partial</td>" in html and "<small>-k &#x27;color&#x27;</small>" in html
