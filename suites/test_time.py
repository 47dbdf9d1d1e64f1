"""Time (spec 9.2.1-9.2.3): SystemTime in ISO 8601 round-trips and keeps running; NTP TimeZone strings
are POSIX 1003.1 8.3 (the spec's EST and CET examples); DST in date and week mode."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.documents import clock_offset, comparable, kept, put_back, utc
from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.system]

TIME, NTP, DST = "/System/Time", "/System/NTP", "/System/DST"
SLACK_S = 3.0  # request round trips and second resolution

# (id, SystemTime sent, the instant it denotes in UTC)
TIMES = [
    ("extended Z", "2031-05-03T17:30:08Z", datetime(2031, 5, 3, 17, 30, 8, tzinfo=UTC)),
    ("compact +08", "20310503T173008+08", datetime(2031, 5, 3, 9, 30, 8, tzinfo=UTC)),  # the spec's sample form
    ("extended -05:00", "2031-05-03T17:30:08-05:00", datetime(2031, 5, 3, 22, 30, 8, tzinfo=UTC)),
    ("compact without zone", "20310503T173008", datetime(2031, 5, 3, 17, 30, 8, tzinfo=UTC)),
]
# 9.2.2 notes: "EST+5EDT01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00", "CET-1CEST01:00:00,M3.5.0/02:00:00,..."
ZONES_OK = [
    "EST+5EDT01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00",
    "CET-1CEST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00",
    "CST-9:00:00",
    "UTC0",
]
ZONES_BAD = ["Europe/Paris", "EST", "CET-1CEST,M3.5.0", "+5", "EST+5EDT,M3.2.0/02:00:00"]
WEEK_OK = ["3-1-1-2-3-6", "2-4-5-7-8-8", "10-5-0-3-0-0"]
WEEK_BAD = ["13-1-1-2-3-6", "3-6-1-2-3-6", "3-1-8-2-3-6", "3-1-1-24-0-0", "3-1-1-2-3", "March-1-1-2-3-6"]


def _put(bview, path: str, doc: dict) -> object:
    return bview.client.put(path, to_xml(BLOCKS[path.rsplit("/", 1)[-1]], doc))


@contextlib.contextmanager
def clock_kept(bview) -> Iterator[float]:
    """Let a test set the clock, then set it back to where it would be had nobody touched it."""
    offset = clock_offset(bview)
    assert offset is not None, "GET /System/Time shows no ISO 8601 SystemTime"
    try:
        yield offset
    finally:
        when = datetime.now(UTC) + timedelta(seconds=offset)
        _put(bview, TIME, {"SystemTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")})


def _device_time(bview) -> tuple[datetime, object]:
    doc, get = bview.read(TIME)
    when = utc(str(doc.get("SystemTime", "")))
    expect(when is not None, f"returned SystemTime {doc.get('SystemTime')!r}", "an ISO 8601 date-time", "9.2.1", get)
    return when, get  # type: ignore[return-value]


@pytest.mark.reversible
@pytest.mark.parametrize("sent,instant", [(s, i) for _, s, i in TIMES], ids=[t[0] for t in TIMES])
@pytest.mark.bview_rule("system-time-iso8601")
def test_system_time_round_trip(bview, sent: str, instant: datetime) -> None:
    """9.2.1: "The date and time string has ISO 8601 format": a SystemTime set is the time GET returns."""
    with clock_kept(bview):
        start = time.monotonic()
        ex = _put(bview, TIME, {"SystemTime": sent})
        check_status(ex, Status.OK, "9.2.1", f"SystemTime {sent!r} is ISO 8601")
        when, get = _device_time(bview)
        elapsed = time.monotonic() - start
        expect(
            instant - timedelta(seconds=SLACK_S) <= when <= instant + timedelta(seconds=elapsed + SLACK_S),
            f"returned {when.isoformat()} after SystemTime {sent!r} was set",
            f"the time set ({instant.isoformat()}, zone offset applied) plus the seconds since",
            "9.2.1",
            ex,
            get,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("time-clock-runs")
def test_clock_keeps_running(bview) -> None:
    """9.2.1: SystemTime is a clock: after it is set it goes on running with real time."""
    with clock_kept(bview):
        check_status(_put(bview, TIME, {"SystemTime": "2031-05-03T17:30:08Z"}), Status.OK, "9.2.1")
        first, _ = _device_time(bview)
        start = time.monotonic()
        time.sleep(1.2)  # one second of the clock, which no time scale shortens
        second, get = _device_time(bview)
        elapsed = time.monotonic() - start
        expect(
            1 <= (second - first).total_seconds() <= elapsed + SLACK_S,
            f"moved its clock by {(second - first).total_seconds():.0f} s in {elapsed:.1f} s",
            "the clock runs in real time",
            "9.2.1",
            get,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("time-partial-put-keeps-clock")
def test_partial_time_update_keeps_clock(bview) -> None:
    """6.1.1 + 9.2.1: a PUT of <TimeFormat> alone does not move the clock."""
    before, _ = bview.read(TIME)
    offset = clock_offset(bview)
    try:
        ex = _put(bview, TIME, {"TimeFormat": "12hour" if before.get("TimeFormat") != "12hour" else "24hour"})
        check_status(ex, Status.OK, "9.2.1")
        now = clock_offset(bview)
        expect(
            offset is not None and now is not None and abs(now - offset) <= SLACK_S,
            f"moved its clock by {(now or 0) - (offset or 0):+.0f} s on a PUT without <SystemTime>",
            "fields left out of a PUT keep their values (6.1.1); the clock keeps running",
            "9.2.1",
            ex,
            rule="time-partial-put-keeps-clock",  # 6.1.1 "Generally ...": a SHOULD
        )
    finally:
        put_back(bview, TIME, {k: v for k, v in comparable(before).items()})


@pytest.mark.reversible
@pytest.mark.parametrize("zone", ZONES_OK)
@pytest.mark.bview_rule("ntp-timezone-stored")
def test_ntp_time_zone_accepted(bview, zone: str) -> None:
    """9.2.2: TimeZone is a POSIX 1003.1 8.3 string; the spec's examples are accepted and returned."""
    with kept(bview, NTP):
        ex = _put(bview, NTP, {"TimeZone": zone})
        check_status(ex, Status.OK, "9.2.2", f"{zone!r} is a POSIX time zone string")
        after, get = bview.read(NTP)
        expect(after.get("TimeZone") == zone, f"returned {after.get('TimeZone')!r}", f"{zone!r}", "9.2.2", ex, get)


@pytest.mark.reversible
@pytest.mark.parametrize("zone", ZONES_BAD)
@pytest.mark.bview_rule("ntp-timezone-non-posix-refused")
def test_ntp_time_zone_refused(bview, zone: str) -> None:
    """9.2.2 + 7: a TimeZone that is not a POSIX 1003.1 8.3 string gets -5 and changes nothing."""
    before, _ = bview.read(NTP)
    ex = _put(bview, NTP, {"TimeZone": zone})
    try:
        check_status(ex, Status.PARAMETER_ERROR, "9.2.2", f"{zone!r} is not a POSIX time zone string")
    finally:
        after, _ = bview.read(NTP)
        if after != before:
            put_back(bview, NTP, before)
    expect(after == before, f"changed TimeZone to {after.get('TimeZone')!r}", "nothing changes", "7", ex)


@pytest.mark.reversible
@pytest.mark.bview_rule("dst-modes-stored")
def test_dst_date_and_week_modes(bview) -> None:
    """9.2.3: "If <Mode> is date, use <DateModeStart>/<DateModeStop>" (ISO 8601, "accepted and returned");
    "If <Mode> is week, use <WeekModeStart>/<WeekModeStop>" ("month-week-day-hour-minute-second")."""
    with kept(bview, DST):
        for change in (
            {"Enable": "true", "Mode": "date", "DateModeStart": "20310330T020000", "DateModeStop": "20311026T030000"},
            {"Enable": "true", "Mode": "week", "WeekModeStart": WEEK_OK[0], "WeekModeStop": WEEK_OK[1]},
            {"WeekModeStart": WEEK_OK[2]},
        ):
            ex = _put(bview, DST, change)
            check_status(ex, Status.OK, "9.2.3", f"valid DST values {change}")
            after, get = bview.read(DST)
            expect(
                all(after.get(k) == v for k, v in change.items()),
                f"returned {after}",
                f"the values set: {change}",
                "9.2.3",
                ex,
                get,
            )


@pytest.mark.reversible
@pytest.mark.parametrize("value", WEEK_BAD)
@pytest.mark.bview_rule("dst-week-format")
def test_dst_week_format_refused(bview, value: str) -> None:
    """9.2.3 + 7: a WeekModeStart not in "month-week-day-hour-minute-second" gets -5."""
    before, _ = bview.read(DST)
    ex = _put(bview, DST, {"WeekModeStart": value})
    after, _ = bview.read(DST)
    if after != before:
        put_back(bview, DST, before)
    check_status(ex, Status.PARAMETER_ERROR, "9.2.3", f"{value!r} is not month-week-day-hour-minute-second")
