"""Runs that repeat: a second and a third run on the same camera start from what the first one found, and a
failing check still puts back what it touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_bview.simulator.camera import CameraThread
from tests._camera import camera_args

ROOT = Path(__file__).resolve().parents[1]


def test_log_filter_passes_after_the_clock_was_set_ahead(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """9.2.1 sets the clock to 2031 and back; the log keeps what it wrote then. The next run's 9.2.10 filter check
    must accept those entries (they are after its startTime), three runs in a row."""
    checks = [str(ROOT / "suites/test_time.py::test_clock_keeps_running"), str(ROOT / "suites/test_logging.py")]
    with CameraThread(time_scale=0.01, ssdp_port=0, discovery_port=0) as cam:
        for run in (1, 2, 3):
            rec = pytester.inline_run(
                *checks, f"--rootdir={ROOT}", *camera_args(cam, "-q", f"--bview-report-dir={tmp_path / 'reports'}")
            )
            failed = [r.nodeid for r in rec.getfailures()]
            assert not failed, f"run {run} on the same camera failed {failed}"
            assert rec.countoutcomes()[0] > 5


def test_failing_domain_check_restores(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A camera storing an outside value fails the domain check, and the check puts the value back: the schema
    check of the same resource after it passes."""
    rec = pytester.inline_run(
        str(ROOT / "suites/test_domains.py::test_outside_domain_refused[PUT /Images/1/Color]"),
        str(ROOT / "suites/test_schema.py::test_get_matches_schema[GET /Images/1/Color]"),
        f"--rootdir={ROOT}",
        "--bview-sim-fault",
        "config-range-unchecked",
        f"--bview-report-dir={tmp_path / 'reports'}",
        "-p",
        "no:cacheprovider",
        "-q",
    )
    failed = [r.nodeid for r in rec.getfailures()]
    assert any("test_outside_domain_refused" in n for n in failed), failed
    assert not any("test_get_matches_schema" in n for n in failed), f"garbage left behind: {failed}"
