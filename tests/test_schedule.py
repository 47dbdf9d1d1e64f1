"""The run's order (pytest_bview/schedule.py): network writes spread out, their settle windows filled."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_bview import schedule
from pytest_bview.simulator.camera import CameraThread


@dataclass
class Item:
    """What schedule.py reads of a pytest item."""

    nodeid: str
    markers: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.callspec = SimpleNamespace(params=self.params)
        defs = {f"f{n}": [SimpleNamespace(scope=s)] for n, s in enumerate(self.scopes)}
        self._fixtureinfo = SimpleNamespace(name2fixturedefs=defs)

    def get_closest_marker(self, name: str) -> Any:
        return SimpleNamespace(args=self.markers[name]) if name in self.markers else None

    def iter_markers(self, name: str) -> list[Any]:
        return [SimpleNamespace(args=self.markers[name])] if name in self.markers else []

    def __repr__(self) -> str:
        return self.nodeid


def writer(nodeid: str, path: str = "", **markers: tuple[Any, ...]) -> Item:
    return Item(nodeid, {"network": (), **markers}, {"path": path} if path else {})


def filler(nodeid: str, **kw: Any) -> Item:
    return Item(nodeid, **kw)


def ids(items: list[Item]) -> list[str]:
    return [i.nodeid for i in items]


def test_fillers_spread_between_network_writes_by_count() -> None:
    """Rule 3 without durations: an even share of the other items before the first writer and after each."""
    items = [writer("a.py::w1"), writer("a.py::w2"), *(filler(f"b.py::f{n}") for n in range(6))]
    assert ids(schedule.order(items, settle=5.0)) == [
        "b.py::f0", "b.py::f1", "a.py::w1", "b.py::f2", "b.py::f3", "a.py::w2", "b.py::f4", "b.py::f5"
    ]  # fmt: skip


def test_a_window_takes_fillers_up_to_the_settle_time() -> None:
    """Rule 3 with durations: fillers until the settle time is covered; the rest at the end."""
    items = [writer("a.py::w1"), writer("a.py::w2"), *(filler(f"b.py::f{n}") for n in range(6))]
    durations = {f"b.py::f{n}": 3.0 for n in range(8)}
    items += [filler("b.py::f6"), filler("b.py::f7")]
    assert ids(schedule.order(items, settle=5.0, durations=durations)) == [
        "b.py::f0", "b.py::f1", "a.py::w1", "b.py::f2", "b.py::f3", "a.py::w2", "b.py::f4", "b.py::f5",
        "b.py::f6", "b.py::f7",
    ]  # fmt: skip


def test_writers_of_one_resource_run_together() -> None:
    """Rule 2: the partial update follows the round trip of its resource (it builds on its write)."""
    items = [
        writer("c.py::test_round_trip[A]", "/Network/A"),
        writer("c.py::test_round_trip[B]", "/Network/B"),
        writer("c.py::test_partial[A]", "/Network/A"),
        writer("c.py::test_partial[B]", "/Network/B"),
    ]
    assert ids(schedule.order(items, settle=5.0)) == [
        "c.py::test_round_trip[A]", "c.py::test_partial[A]", "c.py::test_round_trip[B]", "c.py::test_partial[B]"
    ]  # fmt: skip


def test_a_reading_item_of_the_network_area_is_a_filler() -> None:
    """Rule 1: "[GET " in the id says it only reads."""
    assert schedule.is_writer(writer("c.py::test_round_trip[PUT /Network]"))
    assert not schedule.is_writer(writer("c.py::test_collection_get_equals_parts[GET /Network]"))
    assert not schedule.is_writer(filler("c.py::test_round_trip[PUT /Images/1/Color]"))
    assert not schedule.is_writer(writer("w.py::test_access_point_list_valid", readonly=()))  # the tier says so
    assert schedule.is_writer(writer("w.py::test_wifi_param_test_result", readonly=(), reversible=()))


def test_writes_seen_in_an_earlier_run_decide_who_is_a_writer() -> None:
    """Rule 1, seen in a run of the suites: an unauthenticated PUT, a WiFi read and a check that found its
    evidence in an earlier write are marked `network` and write nothing; a check of another area writes."""
    unauth = writer("p.py::test_auth_required[PUT /Network/FTP]")
    other = filler("c.py::test_dependent_fields[DDNS ProtocolName not in ServerList]")
    timed = writer("n.py::test_paced", bview_rule=("network-write-paced-accepted",))
    seen = {unauth.nodeid: 0, other.nodeid: 1, timed.nodeid: 0}
    assert not schedule.is_writer(unauth, seen) and schedule.is_writer(unauth)
    assert schedule.is_writer(other, seen) and not schedule.is_writer(other)
    assert schedule.is_writer(timed, seen)  # Rule 5: the spacing check is always placed as a writer
    assert schedule.is_writer(writer("c.py::new[PUT /Network]"), seen)  # not seen: the marker decides
    items = [unauth, other, *(filler(f"b.py::f{n}") for n in range(4))]
    assert ids(schedule.order(items, settle=5.0, writes=seen)) == [
        "p.py::test_auth_required[PUT /Network/FTP]", "b.py::f0", "b.py::f1",
        "c.py::test_dependent_fields[DDNS ProtocolName not in ServerList]", "b.py::f2", "b.py::f3",
    ]  # fmt: skip


def test_the_writes_of_each_item_are_kept_for_the_next_run() -> None:
    """Durations keeps the teardown reports' counts (what the plugin sets, and pytest-xdist carries) beside the
    durations, merged with the earlier runs'."""
    stored: dict[str, Any] = {schedule.WRITES_KEY: {"old::t": 2, "bad::t": "x"}}
    cache = SimpleNamespace(get=lambda key, default: stored.get(key, default), set=stored.__setitem__)
    durations = schedule.Durations(SimpleNamespace(cache=cache))
    for when, extra in (("call", {}), ("teardown", {schedule.REPORT_WRITES: 3})):
        durations.pytest_runtest_logreport(SimpleNamespace(nodeid="a.py::t", when=when, duration=0.25, **extra))
    durations.pytest_runtest_logreport(SimpleNamespace(nodeid="b.py::t", when="teardown", duration=0.0))
    durations.pytest_sessionfinish()
    assert stored[schedule.WRITES_KEY] == {"old::t": 2, "a.py::t": 3}
    assert stored[schedule.DURATIONS_KEY] == {"a.py::t": 0.25}
    assert schedule.cached_writes(SimpleNamespace(cache=cache)) == {"old::t": 2, "a.py::t": 3}


@pytest.mark.parametrize("xdist", [[], ["-n", "1"]], ids=["one process", "xdist"])
def test_the_plugin_counts_each_items_network_writes(pytester: pytest.Pytester, xdist: list[str]) -> None:
    """End to end, against the built-in camera: the next run knows which test wrote the network configuration
    and how long each took (seen: a skipped item was counted with every write of the run before it; under
    xdist nothing was kept, the controller never collects and the memory was registered at collection)."""
    pytester.makepyfile(
        test_w="""
        import pytest

        def test_writes(bview):
            bview.client.put("/Network/Interfaces/1/IPAddress/DNS", "<DNS><SecondaryDNS>192.0.2.63</SecondaryDNS></DNS>")

        def test_reads(bview):
            bview.client.get("/Network/Interfaces/1/IPAddress/DNS")

        @pytest.mark.skip(reason="a skip mark ends setup before the plugin's hook")
        def test_skipped(bview):
            pass
        """
    )
    result = pytester.runpytest_subprocess("--bview-time-scale", "0.01", "-q", *xdist)
    assert result.ret == 0, result.stdout.str()[-2000:]
    label = "[camera]" if xdist else ""  # xdist with one camera: a fleet of one (fleet.py)
    pytester.makepyfile(
        test_r=f"""
        from pytest_bview import schedule

        def test_seen(request):
            seen = schedule.cached_writes(request.config)
            assert seen == {{"test_w.py::test_writes{label}": 1, "test_w.py::test_reads{label}": 0}}, seen
            assert set(schedule.cached_durations(request.config)) == set(seen)
        """
    )
    result = pytester.runpytest_subprocess("test_r.py", "-q")
    assert result.ret == 0, result.stdout.str()[-2000:]


def test_modules_with_shared_fixtures_and_disruptive_items_stay_together_at_the_end() -> None:
    """Rule 4: moving them would set their module fixtures up again, or reorder a reboot."""
    items = [
        filler("d.py::one", scopes=("module",)),
        filler("d.py::two"),
        writer("a.py::w1"),
        filler("x.py::reboot", markers={"disruptive": ()}),
        filler("b.py::f0"),
    ]
    assert ids(schedule.order(items, settle=5.0)) == ["b.py::f0", "a.py::w1", "d.py::one", "d.py::two", "x.py::reboot"]


def test_a_check_timing_the_spacing_follows_a_writer_directly() -> None:
    """Rule 5: its write must go out at the settle time, not after the fillers' time."""
    timed = writer("n.py::test_paced", bview_rule=("network-write-paced-accepted",))
    items = [writer("a.py::w1"), timed, *(filler(f"b.py::f{n}") for n in range(4))]
    out = ids(schedule.order(items, settle=5.0))
    assert out.index("n.py::test_paced") == out.index("a.py::w1") + 1


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b", "c"]), st.booleans()), max_size=30))
def test_every_item_runs_once(shape: list[tuple[bool, str, bool]]) -> None:
    """Whatever the mix, the order is a permutation of the collected items."""
    items = [
        (writer if w else filler)(f"{mod}.py::t{n}", **({"scopes": ("module",)} if pin and not w else {}))
        for n, (w, mod, pin) in enumerate(shape)
    ]
    out = schedule.order(items, settle=5.0, durations={i.nodeid: 0.5 for i in items[::2]})
    assert sorted(ids(out)) == sorted(ids(items))


def test_same_items_same_order() -> None:
    """Rule 6: every xdist worker computes the same order (no clock, no randomness)."""
    items = [writer(f"a.py::w{n}", f"/Network/{n % 3}") for n in range(6)] + [filler(f"b.py::f{n}") for n in range(9)]
    assert ids(schedule.order(items, 5.0)) == ids(schedule.order(list(items), 5.0))


@pytest.mark.parametrize("cache", [None, SimpleNamespace(get=lambda key, default: {"x": "bad", "y": 1.5})])
def test_cached_durations_tolerate_no_cache_and_bad_values(cache: Any) -> None:
    assert schedule.cached_durations(SimpleNamespace(cache=cache)) == ({} if cache is None else {"y": 1.5})


def test_first_network_write_waits_a_window_after_an_earlier_run() -> None:
    """client.py Rule 3: a run does not know when the last one wrote (its restore may be a moment old), so its
    first network write waits a window from the start too; the spacing check still sees it as the first."""
    from pytest_bview.checks import status_code
    from pytest_bview.client import Client

    dns = "/Network/Interfaces/1/IPAddress/DNS"
    with CameraThread(time_scale=0.01) as cam:
        url = f"http://127.0.0.1:{cam.ports['http']}"
        earlier = Client(url, "admin", "admin", settle=0.05)
        assert status_code(earlier.put(dns, "<DNS><SecondaryDNS>192.0.2.61</SecondaryDNS></DNS>")) == 0
        later = Client(url, "admin", "admin", settle=0.05)  # the next run, at once
        ex = later.put(dns, "<DNS><SecondaryDNS>192.0.2.62</SecondaryDNS></DNS>")
        assert status_code(ex) == 0, ex.body  # not -14: it waited the window
        assert later.network_writes == 1
        assert [w.path for w in later.network_log] == [dns] and later.network_log[0].gap is None
        earlier.close()
        later.close()


@pytest.mark.parametrize(
    "scale,wall_min,least,most,wanted",
    [
        (0.01, 0.1, 1, 120, 10),  # DelayRecord at the suites' scale: 0.1 s of wall time
        (1.0, 0.1, 1, 120, 1),  # at real timing the spec's least, not 10 s of waiting per recording
        (0.01, 0.6, 10, None, 60),  # the lab's motion hold
        (1.0, 0.6, 10, None, 10),
        (0.0001, 0.1, 1, 120, 120),  # never beyond the spec's range
    ],
)
def test_durations_a_check_chooses_are_short_in_camera_time_and_long_enough_in_wall_time(
    scale: float, wall_min: float, least: int, most: int | None, wanted: int
) -> None:
    from pytest_bview.options import Settings

    fields = {f: None for f in Settings.__dataclass_fields__}
    settings = Settings(**{**fields, "time_scale": scale})  # type: ignore[arg-type]
    assert settings.device_seconds(wall_min, least=least, most=most) == wanted


def test_the_wpa_key_check_holds_after_an_earlier_check_stored_a_key(pytester: pytest.Pytester) -> None:
    """Seen at real timing, where the run's order differs: once an earlier check stored a WiFi key, "WPA2PSK
    without a key" is a valid PUT (an empty key keeps the stored one, ERRATA S3) and the check failed. A check
    that needs a state it did not make must make it: on the reference camera the lab clears the key first."""
    from pathlib import Path

    suites = Path(__file__).resolve().parents[1] / "suites"
    result = pytester.runpytest_subprocess(
        f"{suites}/test_security_advisories.py::test_wifi_key_not_readable",  # stores a key, keeps it to itself
        f"{suites}/test_config.py::test_dependent_fields[Wireless WPA2PSK without a key]",
        f"--rootdir={suites.parent}",
        "-p",
        "no:cacheprovider",
        "-q",
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=2)
