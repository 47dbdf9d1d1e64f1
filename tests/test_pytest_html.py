"""pytest-html's own report carries the kit's facts: spec section (with its title), resource and the B-View
verdict of each test, through its results-table hooks, beside the kit's compliance report."""

from __future__ import annotations

import pytest

SUITE = """
import pytest
from pytest_bview.verdicts import not_supported

@pytest.mark.readonly
def test_device_info(bview):
    '''9.2.4: DeviceInfo answers.'''
    bview.read("/System/DeviceInfo")

@pytest.mark.readonly
def test_lacks_ptz(bview):
    '''9.11.1: PTZ.'''
    not_supported("no PTZ on this unit")
"""


def test_pytest_html_table_has_section_resource_and_verdict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_html=SUITE)
    result = pytester.runpytest_inprocess(
        "--html=out.html", "--self-contained-html", "--bview-report-dir", "reports", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, skipped=1)
    page = (pytester.path / "out.html").read_text("utf-8")
    for header in ("Spec section", "Resource", "B-View verdict"):
        assert header in page, header
    assert "9.2.4" in page and "not supported" in page
