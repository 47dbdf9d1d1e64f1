"""The order of a run: each network-configuration write is followed by other work, so that the spec's settle
window (9.1, "leave at least 5 seconds between 2 configuration requests") passes while the run works.

The spacing itself is the client's (client.py Rule 3) and is never shortened; this module only decides
what runs while it passes. A wrong guess here costs time, never a verdict.

Rule 1: a writer is an item that made a network-configuration write in an earlier run (pytest's cache,
        WRITES_KEY: the client counts them); an item the cache does not know is a writer when it is marked
        `network` (the 9.1 area), is not of the readonly tier and its id does not say it only reads
        ("[GET "). The spacing check (Rule 5) is always a writer. Seen in a run of the suites: 38 of the
        111 marked items wrote nothing (unauthenticated PUTs, WiFi reads, checks that found their evidence
        in an earlier write) and 6 unmarked ones wrote; each wrong guess spent a window of fillers where no
        window was.
Rule 2: writers keep their order, except that the writers of one module naming the same network resource
        run one after the other (a check can then build on the values an earlier check's write left).
Rule 3: after each writer come other items (fillers) until their expected time reaches the settle time or
        an even share of all fillers' time, whichever is less; one such share also runs before the first
        writer (the client's first network write waits a window too: an earlier run may have just written);
        fillers left over run at the end.
        An item's expected time is its duration in an earlier run (pytest's cache, DURATIONS_KEY), else
        the mean of the known ones, else 1 (then the share is by count).
Rule 4: items that must stay together are not moved: those of a module or class with a module- or
        class-scoped fixture, and disruptive ones. They run after the rest, in their order.
Rule 5: a check that measures the spacing itself (TIMING_RULES) follows the writer before it with no filler
        between, so that its write goes out at the settle time, not later.
Rule 6: the order depends only on the items, the settle time and the cache, read once at collection, so
        every pytest-xdist worker computes the same one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_bview.options import tier_of

DURATIONS_KEY = "bview/durations"  # nodeid -> seconds of its last call phase
WRITES_KEY = "bview/network-writes"  # nodeid -> network-configuration writes it made in its last run
REPORT_WRITES = "bview_network_writes"  # the attribute of a teardown report that carries the item's count
TIMING_RULES = frozenset({"network-write-paced-accepted"})  # Rule 5 (spec/rules.py ids)


def is_writer(item: Any, seen: Mapping[str, int] | None = None) -> bool:
    """Rule 1."""
    if _timing(item):
        return True
    if seen and item.nodeid in seen:
        return seen[item.nodeid] > 0
    if tier_of(item) == "readonly":
        return False  # the client refuses the writes of this tier
    return item.get_closest_marker("network") is not None and "[GET " not in item.nodeid


def _timing(item: Any) -> bool:
    """Rule 5."""
    return any(TIMING_RULES.intersection(m.args) for m in item.iter_markers("bview_rule"))


def _pinned(item: Any) -> bool:
    """Rule 4."""
    if item.get_closest_marker("disruptive") is not None:
        return True
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", {}) or {}
    return any(d.scope in ("module", "class", "package") for fixturedefs in defs.values() for d in fixturedefs)


def _resource_key(item: Any) -> str:
    """Rule 2: the network resource an item names in its parameters, else its own id."""
    params = getattr(getattr(item, "callspec", None), "params", {}) or {}
    for value in params.values():
        if isinstance(value, str) and value.startswith("/Network"):
            return f"{item.nodeid.split('::', 1)[0]}::{value}"
    return item.nodeid


def _grouped(writers: list[Any]) -> list[Any]:
    first: dict[str, int] = {}
    for n, item in enumerate(writers):
        first.setdefault(_resource_key(item), n)
    order = sorted(range(len(writers)), key=lambda n: (first[_resource_key(writers[n])], n))
    return [writers[n] for n in order]


def order(
    items: Sequence[Any],
    settle: float,
    durations: Mapping[str, float] | None = None,
    writes: Mapping[str, int] | None = None,
) -> list[Any]:
    """The run's order (Rules 1-6); the same items, each once."""
    durations = durations or {}
    pinned_modules = {item.nodeid.split("::", 1)[0] for item in items if _pinned(item)}
    stay = [i for i in items if i.nodeid.split("::", 1)[0] in pinned_modules]
    free = [i for i in items if i.nodeid.split("::", 1)[0] not in pinned_modules]
    writing = [is_writer(i, writes) for i in free]
    writers = _grouped([i for i, w in zip(free, writing, strict=True) if w])
    fillers = [i for i, w in zip(free, writing, strict=True) if not w]
    if not writers:
        return list(items)  # nothing to spread: the collected order
    if not fillers:
        return [*writers, *stay]
    known = [durations[i.nodeid] for i in fillers if i.nodeid in durations]
    default = sum(known) / len(known) if known else 1.0
    cost = [durations.get(i.nodeid, default) for i in fillers]
    share = sum(cost) / (len(writers) + 1)
    window = min(settle, share) if known else share
    out: list[Any] = []
    n = 0
    for k, writer in enumerate([None, *writers]):
        if writer is not None:
            out.append(writer)
        filled = 0.0
        timed_next = k < len(writers) and _timing(writers[k])
        while n < len(fillers) and filled < window and not timed_next:
            out.append(fillers[n])
            filled += cost[n]
            n += 1
    return [*out, *fillers[n:], *stay]


def cached_durations(config: Any) -> dict[str, float]:
    """Rule 3's durations of an earlier run, or none (no cache: `-p no:cacheprovider`)."""
    return {k: float(v) for k, v in _cached(config, DURATIONS_KEY).items()}


def cached_writes(config: Any) -> dict[str, int]:
    """Rule 1's writes of an earlier run, or none."""
    return {k: int(v) for k, v in _cached(config, WRITES_KEY).items()}


def _cached(config: Any, key: str) -> dict[str, int | float]:
    cache = getattr(config, "cache", None)
    found = cache.get(key, {}) if cache is not None else {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


class Durations:
    """Rules 1 and 3's memory: this run's call durations and each item's network writes (the plugin sets
    REPORT_WRITES on the teardown report, which pytest-xdist carries), kept for the next run's order by the
    controller only (registered at configure: an xdist controller never collects; seen: registered at
    collection, it never existed in a controller, and an xdist run or a fleet never learned its order)."""

    name = "bview-durations"

    def __init__(self, config: Any) -> None:
        self.config = config
        self.measured: dict[str, float] = {}
        self.writes: dict[str, int] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call":
            self.measured[report.nodeid] = float(report.duration)
        elif report.when == "teardown" and isinstance(n := getattr(report, REPORT_WRITES, None), int):
            self.writes[report.nodeid] = n

    def pytest_sessionfinish(self) -> None:
        cache = getattr(self.config, "cache", None)
        if cache is None or hasattr(self.config, "workerinput"):
            return
        # a camera's tests only: the plugin counts the writes of those alone (none in a run of the project's tests)
        durations = {k: round(v, 4) for k, v in self.measured.items() if k in self.writes}
        for key, now, earlier in (
            (DURATIONS_KEY, durations, cached_durations),
            (WRITES_KEY, self.writes, cached_writes),
        ):
            if now:
                merged = {**earlier(self.config), **now}
                cache.set(key, merged if len(merged) <= 20_000 else now)  # other runs' ids: bounded
