"""Block documents as the kit compares, merges and writes them back: one module for restore.py and the suites.

A document is the dict form of an XML block (protocol/xmlblocks.py). What counts as "the same" leaves out the fields that
change by themselves (spec/facts.py VOLATILE_FIELDS); a list's items are matched by <ID>.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import VOLATILE_FIELDS
from pytest_bview.spec.model import DATETIME_RE
from pytest_bview.spec.resources import match

Doc = dict[str, Any]

TIME = "/System/Time"
SUBSCRIPTIONS = "/EventsNotification/SubscribedEventTypeList"


def comparable(doc: Any, volatile: Iterable[str] = VOLATILE_FIELDS) -> Any:
    """A document without its volatile fields (they change by themselves)."""
    volatile = frozenset(volatile)
    if isinstance(doc, dict):
        return {k: comparable(v, volatile) for k, v in doc.items() if k not in volatile}
    if isinstance(doc, list):
        return [comparable(v, volatile) for v in doc]
    return doc


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    """Human-readable field differences ("Brightness 50 -> 63")."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for k in sorted(set(before) | set(after)):
            out += differences(before.get(k), after.get(k), f"{where}/{k}" if where else k)
        return out
    if before != after:
        return [f"{where or 'value'} {before!r} -> {after!r}"]
    return []


def deep_merge(a: Doc, b: Doc) -> Doc:
    """Merge two partial documents; list items are matched by <ID>."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        elif isinstance(v, list) and isinstance(out.get(k), list):
            items = {str(i.get("ID")): i for i in out[k]}
            for item in v:
                key = str(item.get("ID"))
                items[key] = deep_merge(items[key], item) if key in items else item
            out[k] = list(items.values())
        else:
            out[k] = v
    return out


def utc(text: str) -> datetime | None:
    """An ISO 8601 time as the spec writes it (9.2.2 SystemTime, "20040503T173008+08") in UTC; None if it is not."""
    m = DATETIME_RE.fullmatch(text.strip())
    if not m:
        return None
    try:
        when = datetime.strptime(m.group(1).replace("-", "").replace(":", ""), "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    tz = m.group(3)
    if tz in (None, "Z"):
        return when.replace(tzinfo=UTC)
    digits = tz[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return (when - offset if tz[0] == "+" else when + offset).replace(tzinfo=UTC)


def clock_offset(target: Any) -> float | None:
    """Device clock minus local clock, in seconds (None when the device shows no usable time)."""
    doc, _ = target.read(TIME)
    when = utc(str(doc.get("SystemTime", "")))
    return None if when is None else (when - datetime.now(UTC)).total_seconds()


def write_back(target: Any, path: str, doc: Doc) -> tuple[str | None, int]:
    """One restoring write of `doc` (write-only fields left out): (the problem if the device refused it, the
    number of requests it took)."""
    from pytest_bview.checks import status_code
    from pytest_bview.protocol.xmlblocks import to_xml

    if path == SUBSCRIPTIONS:
        return _write_back_subscriptions(target, doc)
    found = match(path)
    assert found is not None and found[0].block, path
    ex = target.client.put(path, to_xml(BLOCKS[found[0].block], doc, include_wo=False))
    code = status_code(ex)
    return (None if code == 0 else f"PUT {path} to restore it answered statusCode {code} (HTTP {ex.status})"), 1


def _write_back_subscriptions(target: Any, doc: Doc) -> tuple[str | None, int]:
    """9.9.1: PUT subscribes the listed event types, DELETE unsubscribes them: restore by difference."""
    from pytest_bview.checks import status_code
    from pytest_bview.protocol.xmlblocks import to_xml

    block = BLOCKS["SubscribedEventTypeList"]
    wanted = {i.get("EventType"): i for i in doc.get("SubscribedEventType", [])}
    now, _ = target.read(SUBSCRIPTIONS)
    have = {i.get("EventType"): i for i in now.get("SubscribedEventType", [])}
    problems, writes = [], 0
    drop = [i for t, i in have.items() if t not in wanted]
    add = [i for t, i in wanted.items() if t not in have]
    for method, items in (("DELETE", drop), ("PUT", add)):
        if not items:
            continue
        ex = target.client.request(method, SUBSCRIPTIONS, to_xml(block, {"SubscribedEventType": items}))
        writes += 1
        if status_code(ex) != 0:
            problems.append(f"{method} {SUBSCRIPTIONS} to restore it answered statusCode {status_code(ex)}")
    return "; ".join(problems) or None, writes


def put_back(target: Any, path: str, doc: Doc) -> str | None:
    """Write a snapshot document back (volatile fields left out); the problem if the device refused it."""
    return write_back(target, path, comparable(doc))[0]


def left_to_session_restore(path: str) -> bool:
    """A network resource (9.1, "at least 5 seconds between 2 configuration requests") is put back by the session's
    restore, which batches them (restore.py Rule 4), not by the check that changed it."""
    found = match(path)
    return found is not None and found[0].has("network")


@contextlib.contextmanager
def kept(target: Any, path: str, *, network_later: bool = True) -> Iterator[Doc]:
    """Read `path`, let the check change it, then put it back if it changed and fail if the camera refuses.
    A network resource (9.1, "at least 5 seconds between 2 configuration requests") is left to the session's
    restore, which batches them (restore.py Rule 4), unless `network_later` is False."""
    before, _ = target.read(path)
    try:
        yield before
    finally:
        later = network_later and left_to_session_restore(path)
        if not later and comparable(target.read(path)[0]) != comparable(before):
            problem = put_back(target, path, before)
            assert problem is None, problem
