"""The device log (spec 9.2.10): entries for API operations, filters by type and time."""

from __future__ import annotations

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.system]

COLOR = "/Images/1/Color"


@pytest.mark.reversible
def test_filter_by_type(bview) -> None:
    """9.2.10: an image colour change is logged as 2/111 and a type query returns exactly that type."""
    with bview.preserved(COLOR) as before:
        ex = bview.client.put(COLOR, _color_xml(before[COLOR]))
        check_status(ex, Status.OK, "9.6.1.3")
        logs, get = bview.read_query("/System/Logging", {"majorType": "2", "minorType": "111"})
        entries = logs.get("Log", [])
        expect(
            entries,
            "returned no 2/111 entry after an image colour change",
            "configuration operations are logged (2 = configuration, 111 = image color settings)",
            "9.2.10",
            get,
        )
        wrong = [e for e in entries if (e.get("majorType"), e.get("minorType")) != ("2", "111")]
        expect(
            not wrong,
            f"returned {len(wrong)} entries of other types for majorType=2&minorType=111 (e.g. {wrong[:1]})",
            "the query returns only the asked type",
            "9.2.10",
            get,
        )
        users, get2 = bview.read_query("/System/Logging", {"majorType": "4", "minorType": "300"})
        wrong = [e for e in users.get("Log", []) if e.get("majorType") != "4"]
        expect(
            not wrong,
            f"returned {len(wrong)} non-user entries for majorType=4",
            "majorType 4 returns only user-management entries",
            "9.2.10",
            get2,
        )


@pytest.mark.readonly
def test_at_most_1000_entries(bview) -> None:
    """9.2.10: "The device supports up to 1000 log entries"."""
    logs, get = bview.read_query("/System/Logging", {"majorType": "8", "minorType": "0"})
    expect(
        len(logs.get("Log", [])) <= 1000,
        f"returned {len(logs.get('Log', []))} entries",
        "at most 1000 log entries",
        "9.2.10",
        get,
    )


@pytest.mark.readonly
def test_malformed_query_refused(bview) -> None:
    """9.2.10 + 7: a startTime not in YYYY-MM-DDThh:mm:ss gets a non-zero statusCode."""
    ex = bview.client.get("/System/Logging", params={"majorType": "8", "minorType": "0", "startTime": "yesterday"})
    check_status(ex, tuple(c for c in Status if c != Status.OK), "9.2.10", "startTime 'yesterday' is malformed")


def _color_xml(doc: dict) -> bytes:
    from pytest_bview.spec.blocks import BLOCKS
    from pytest_bview.xmlblocks import to_xml

    return to_xml(BLOCKS["Color"], doc)
