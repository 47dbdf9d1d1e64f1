"""The device log (spec 9.2.10): entries for API operations, filters by type and time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import MAX_LOG_ENTRIES
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.system]

COLOR = "/Images/1/Color"


@pytest.mark.reversible
@pytest.mark.bview_rule("log-type-filter")
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


@pytest.mark.reversible
@pytest.mark.bview_rule("log-at-most-1000")
def test_at_most_1000_entries(bview) -> None:
    """9.2.10: "The device supports up to 1000 log entries" (with the reference camera's lab the log is filled
    first, then one more entry is added through the API)."""
    if bview.lab is not None:
        bview.lab.fill_log(MAX_LOG_ENTRIES)
        check_status(bview.client.put(COLOR, _color_xml(bview.read(COLOR)[0])), Status.OK, "9.6.1.3")
    logs, get = bview.read_query("/System/Logging", {"majorType": "8", "minorType": "0"})
    entries = logs.get("Log", [])
    expect(
        len(entries) <= MAX_LOG_ENTRIES,
        f"returned {len(entries)} entries",
        f"at most {MAX_LOG_ENTRIES} log entries",
        "9.2.10",
        get,
    )


# (id, query, what the operation is)
MALFORMED = [
    {"majorType": "abc", "minorType": "0"},
    {"majorType": "9", "minorType": "0"},
    {"majorType": "2", "minorType": "999"},
    {"majorType": "8", "minorType": "0", "startTime": "yesterday"},
    {"majorType": "8", "minorType": "0", "stopTime": "2025-13-01T00:00:00"},
]


@pytest.mark.readonly
@pytest.mark.parametrize("query", MALFORMED, ids=["&".join(f"{k}={v}" for k, v in q.items()) for q in MALFORMED])
@pytest.mark.bview_rule("log-bad-query-refused")
def test_malformed_query_refused(bview, query: dict[str, str]) -> None:
    """9.2.10 + 7 (ERRATA L12): a malformed majorType, minorType, startTime or stopTime gets -5."""
    ex = bview.client.get("/System/Logging", params=query)
    check_status(ex, Status.PARAMETER_ERROR, "9.2.10", f"the query {query} is malformed")


def _device_now(bview) -> datetime:
    from pytest_bview.documents import utc

    when = utc(str(bview.read("/System/Time")[0].get("SystemTime", "")))
    assert when is not None
    return when.replace(tzinfo=None)


def _add_and_delete_user(bview) -> None:
    import secrets

    name = f"bvlog{secrets.token_hex(3)}"
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><User><ID/><UserName>{name}</UserName>'
        "<Password>Pw-log-1</Password><UserLevel>Normal</UserLevel><IPAddress/><MACAddress/></User>"
    )
    check_status(bview.client.request("POST", "/System/Users/1", body), Status.OK, "9.2.1", "adding a Normal user")
    users = bview.read("/System/Users")[0].get("User", [])
    for user in users:
        if user.get("UserName") == name:
            bview.client.request("DELETE", f"/System/Users/{int(user['ID']) + 1}")


def _network_write(bview) -> None:
    dns = "/Network/Interfaces/1/IPAddress/DNS"
    doc = bview.read(dns)[0]
    check_status(
        bview.client.put(dns, to_xml(BLOCKS["DNS"], {"SecondaryDNS": doc.get("SecondaryDNS", "")})), Status.OK, "9.1"
    )


def _color_write(bview) -> None:
    check_status(bview.client.put(COLOR, _color_xml(bview.read(COLOR)[0])), Status.OK, "9.6.1.3")


OPERATIONS = [
    ("add user 4/301", _add_and_delete_user, 4, 301),
    ("delete user 4/302", _add_and_delete_user, 4, 302),
    ("network settings 2/104", _network_write, 2, 104),
    ("image color settings 2/111", _color_write, 2, 111),
]


@pytest.mark.reversible
@pytest.mark.parametrize("op,major,minor", [o[1:] for o in OPERATIONS], ids=[o[0] for o in OPERATIONS])
@pytest.mark.bview_rule("log-operation-types")
def test_operation_logged(bview, op, major: int, minor: int) -> None:
    """9.2.10: an operation done through the API leaves an entry of its majorType/minorType."""
    start = _device_now(bview) - timedelta(seconds=2)
    op(bview)
    logs, get = bview.read_query(
        "/System/Logging",
        {"majorType": str(major), "minorType": str(minor), "startTime": start.strftime(LOG_TIME)},
    )
    expect(
        logs.get("Log"),
        f"has no {major}/{minor} entry since {start:%Y-%m-%dT%H:%M:%S}",
        f"the operation is logged as majorType {major}, minorType {minor}",
        "9.2.10",
        get,
    )


@pytest.mark.reversible
@pytest.mark.bview_rule("log-time-filter")
def test_filter_by_time(bview) -> None:
    """9.2.10: startTime/stopTime ("YYYY-MM-DDThh:mm:ss") select exactly the entries of their window."""
    _color_write(bview)
    now = _device_now(bview)
    start, stop = now - timedelta(seconds=30), now + timedelta(seconds=30)
    logs, get = bview.read_query(
        "/System/Logging",
        {
            "majorType": "8",
            "minorType": "0",
            "startTime": start.strftime(LOG_TIME),
            "stopTime": stop.strftime(LOG_TIME),
        },
    )
    entries = logs.get("Log", [])
    expect(entries, "returned nothing for the last 30 s after a logged write", "the recent entries", "9.2.10", get)
    outside = [e for e in entries if not start <= datetime.strptime(e["time"][:19], LOG_TIME) <= stop]
    expect(
        not outside,
        f"returned {len(outside)} entries outside {start:%H:%M:%S}-{stop:%H:%M:%S} (e.g. {outside[:1]})",
        "only entries between startTime and stopTime",
        "9.2.10",
        get,
    )
    # Entries dated after now may be there legitimately: a previous run set the clock ahead (9.2.1) and the
    # log keeps what it wrote then. What startTime forbids is an entry before it, such as the write above.
    after = now + timedelta(hours=1)
    later, get2 = bview.read_query(
        "/System/Logging", {"majorType": "8", "minorType": "0", "startTime": after.strftime(LOG_TIME)}
    )
    early = [e for e in later.get("Log", []) if datetime.strptime(e["time"][:19], LOG_TIME) < after]
    expect(
        not early,
        f"returned {len(early)} entries before startTime {after:%Y-%m-%dT%H:%M:%S} (e.g. {early[:1]})",
        "only entries at or after startTime",
        "9.2.10",
        get2,
    )


LOG_TIME = "%Y-%m-%dT%H:%M:%S"


def _color_xml(doc: dict) -> bytes:
    return to_xml(BLOCKS["Color"], doc)
