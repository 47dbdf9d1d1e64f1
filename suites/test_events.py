"""Events (spec 9.9) and the motion detector that raises them (9.7.1.2, 9.7.1.3, 9.7.1.3.2, 9.2.5.1).

Subscriptions are checked on any camera. Checks that need motion drive the built-in camera's
simulator-only /_sim/motion control; on a real camera they are skipped (`needs_operator`).
"""

from __future__ import annotations

import re
import time

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.receivers import (
    EVENTS,
    SUBSCRIPTIONS,
    events,
    motion_armed,
    subscribed,
    subscription_body,
    subscriptions,
    week_around_now,
)
from pytest_bview.spec.facts import GRID_COLUMNS, GRID_ROWS
from pytest_bview.spec.model import DATETIME_RE
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.events]
IPV4 = r"(\d{1,3}\.){3}\d{1,3}"


def _new_events(bview, before: list[dict], event_type: str | None = None) -> list[dict]:
    seen = {e.get("ID") for e in before}
    return [
        e for e in events(bview) if e.get("ID") not in seen and (event_type is None or e.get("EventType") == event_type)
    ]


@pytest.mark.reversible
@pytest.mark.bview_rule("events-subscribe", "events-unsubscribe")
def test_subscribe_and_unsubscribe(bview) -> None:
    """9.9.1: PUT subscribes an event type, GET lists it, DELETE removes it (Operator level)."""
    with subscribed(bview, only=True):
        ex = bview.client.put(SUBSCRIPTIONS, subscription_body("VMD"))
        check_status(ex, Status.OK, "9.9.1")
        listed = subscriptions(bview)
        expect(
            "VMD" in listed,
            f"lists {sorted(listed)} after subscribing VMD",
            "GET lists the subscribed type",
            "9.9.1",
            ex,
        )
        ex = bview.client.request("DELETE", SUBSCRIPTIONS, subscription_body("VMD"))
        check_status(ex, Status.OK, "9.9.1")
        listed = subscriptions(bview)
        expect(
            "VMD" not in listed,
            f"still lists {sorted(listed)} after DELETE of VMD",
            "DELETE ends the subscription",
            "9.9.1",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("events-list-needs-subscription")
def test_event_list_needs_subscription(bview) -> None:
    """9.9.2: "You need to subscribe to at least one event type first" -- before that -12 (ERRATA.md L21)."""
    with subscribed(bview, only=True):
        ex = bview.client.get(EVENTS)
        check_status(ex, Status.INVALID_OPERATION, "9.9.2", "EventList before any subscription (ERRATA.md L21)")
        check_status(bview.client.put(SUBSCRIPTIONS, subscription_body("VMD")), Status.OK, "9.9.1")
        listed = bview.client.get(EVENTS)
        expect(
            listed.status == 200 and b"EventList" in listed.body,
            f"answered HTTP {listed.status} after subscribing",
            "the EventList block once an event type is subscribed",
            "9.9.2",
            listed,
        )


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("events-motion-listed", "events-fields")
def test_motion_event_listed(bview, bview_motion) -> None:
    """9.9.2: a VMD event carries ID, IPAddress, Port, Protocol, ChannelID, DateTime, EventType, EventDescription."""
    with motion_armed(bview), subscribed(bview, "VMD"):
        before = events(bview)
        bview_motion()
        new = _new_events(bview, before, "VMD")
        ex = bview.client.exchanges[-1]
        expect(new, "listed no new VMD event after motion", "motion is reported in EventList", "9.9.2", ex)
        event = new[-1]
        problems = [
            f"<{k}> missing or empty"
            for k in ("ID", "IPAddress", "Port", "Protocol", "ChannelID", "DateTime", "EventType", "EventDescription")
            if not event.get(k)
        ]
        if event.get("IPAddress") and not re.fullmatch(IPV4, str(event["IPAddress"])):
            problems.append(f"IPAddress {event['IPAddress']!r} is not an IPv4 address")
        if event.get("Port") and not str(event["Port"]).isdigit():
            problems.append(f"Port {event['Port']!r} is not an integer")
        if event.get("DateTime") and not DATETIME_RE.fullmatch(str(event["DateTime"])):
            problems.append(f"DateTime {event['DateTime']!r} is not ISO 8601")
        if event.get("ChannelID") and str(event["ChannelID"]) != str(bview.settings.channel):
            problems.append(f"ChannelID {event['ChannelID']!r} is not the channel that saw motion")
        expect(not problems, "; ".join(problems), "every field of the Event block (9.9.2 sample)", "9.9.2", ex)


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("events-type-filter")
def test_unsubscribed_type_not_listed(bview, bview_motion) -> None:
    """9.9.1: only subscribed event types are reported; subscribed to videolost only, motion lists nothing."""
    with motion_armed(bview), subscribed(bview, "videolost", only=True):
        before = events(bview)
        bview_motion()
        time.sleep(max(0.2, 1.0 * bview.settings.time_scale))
        new = _new_events(bview, before, "VMD")
        expect(
            not new,
            f"listed {len(new)} VMD event(s) without a VMD subscription",
            "events of types nobody subscribed are not reported",
            "9.9.1",
            bview.client.exchanges[-1],
        )


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("motion-state")
def test_motion_state_follows(bview, bview_motion) -> None:
    """9.2.5.1: DeviceStatus MotionState is true while motion is seen and false again after it."""
    status = f"/System/DeviceStatus/{bview.settings.channel}"
    hold_s = bview.settings.device_seconds(0.3, least=3)  # 3 s at real timing, 0.3 s of wall time at 0.01
    with motion_armed(bview):
        bview_motion(hold_s=hold_s)
        during, ex = bview.read(status)
        expect(
            during.get("MotionState") == "true",
            f"reports MotionState {during.get('MotionState')!r} while motion is seen",
            "MotionState true during motion",
            "9.2.5.1",
            ex,
        )
        # motion an earlier check injected may last longer than this one's (the lab says how long it asked for)
        deadline = max(time.monotonic() + hold_s * bview.settings.time_scale, bview.motion_until) + 10.0
        after = during
        while time.monotonic() < deadline and after.get("MotionState") == "true":
            time.sleep(0.05)
            after, ex = bview.read(status)
        expect(
            after.get("MotionState") == "false",
            "still reports MotionState true after the motion ended",
            "MotionState follows the motion",
            "9.2.5.1",
            ex,
        )


def _sees(bview, bview_motion, **kw) -> bool:
    """Arm VMD, inject motion with `kw`, report whether a new VMD event came."""
    with subscribed(bview, "VMD"):
        before = events(bview)
        bview_motion(**kw)
        time.sleep(max(0.05, 0.5 * bview.settings.time_scale))
        return bool(_new_events(bview, before, "VMD"))


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("motion-enable")
def test_motion_disabled_sees_nothing(bview, bview_motion) -> None:
    """9.7.1.2: with Motion Enable false nothing is detected."""
    with motion_armed(bview, enable=False):
        expect(
            not _sees(bview, bview_motion),
            "reported motion with Motion Enable false",
            "no detection while disabled",
            "9.7.1.2",
            bview.client.exchanges[-1],
        )


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("motion-regions")
def test_motion_region_grid(bview, bview_motion) -> None:
    """9.7.1.3: only RegionsV2 cells set to 1 count (12 rows RegionX_0-11 of 14 cells)."""
    regions = {f"RegionX_{r}": "0" * GRID_COLUMNS for r in range(GRID_ROWS)}
    regions["RegionX_3"] = "0" * 5 + "1" + "0" * (GRID_COLUMNS - 6)
    with motion_armed(bview, regions=regions):
        expect(
            _sees(bview, bview_motion, row=3, col=5),
            "reported no motion in the active cell 3,5",
            "motion in an active cell is detected",
            "9.7.1.3",
            bview.client.exchanges[-1],
        )
        expect(
            not _sees(bview, bview_motion, row=7, col=9),
            "reported motion in the inactive cell 7,9",
            "cells set to 0 do not count",
            "9.7.1.3",
            bview.client.exchanges[-1],
        )


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("motion-sensitivity")
def test_motion_sensitivity(bview, bview_motion) -> None:
    """9.7.1.2: Sensitive low ignores small motion that Sensitive high detects."""
    with motion_armed(bview, sensitive="high"):
        expect(
            _sees(bview, bview_motion, size="small"),
            "missed small motion at Sensitive high",
            "high sensitivity detects it",
            "9.7.1.2",
            bview.client.exchanges[-1],
        )
    with motion_armed(bview, sensitive="low"):
        expect(
            not _sees(bview, bview_motion, size="small"),
            "reported small motion at Sensitive low",
            "low sensitivity ignores small motion",
            "9.7.1.2",
            bview.client.exchanges[-1],
        )


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("motion-schedule")
def test_motion_schedule(bview, bview_motion) -> None:
    """9.7.1.3.2: with AllDay false, only active half-hour blocks (Block_0 = Sunday) detect motion."""
    active = {"AllDay": "false", "TimeBlock": week_around_now(bview, "Block", active_now=True)}
    inactive = {"AllDay": "false", "TimeBlock": week_around_now(bview, "Block", active_now=False)}
    with motion_armed(bview, schedule=active):
        expect(
            _sees(bview, bview_motion),
            "reported no motion in an active block",
            "the current block is active",
            "9.7.1.3.2",
            bview.client.exchanges[-1],
        )
    with motion_armed(bview, schedule=inactive):
        expect(
            not _sees(bview, bview_motion),
            "reported motion in an inactive block",
            "inactive blocks detect nothing",
            "9.7.1.3.2",
            bview.client.exchanges[-1],
        )
