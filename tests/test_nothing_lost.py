"""A run never leaves a camera changed and never writes one camera's settings into another.

Each test is one way a run used to lose data on real hardware: a fleet restoring one camera's snapshot
into another, a fleet's grouping silently lost, two workers writing one camera, a run ended by SIGTERM,
a target that is not a B-View 2 camera written to.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pytest_bview.target  # noqa: F401  (shared with pytester's in-process runs)
from pytest_bview.simulator.camera import CameraOptions, CameraThread
from pytest_bview.simulator.device import Identity
from tests._camera import camera_args

# Changes everything it can reach, on whichever camera it is given: settings that differ per camera
# (DeviceName, the HTTP port is left alone) would show one camera's snapshot restored into another.
DIRTY = """
import pytest
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.protocol.xmlblocks import to_xml

def _put(bview, path, block, doc):
    ex = bview.client.put(path, to_xml(BLOCKS[block], doc))
    assert b"<statusCode>0</statusCode>" in ex.body, ex.body

@pytest.mark.reversible
@pytest.mark.images
@pytest.mark.parametrize("n", range(3))
def test_dirty(bview, n):
    _put(bview, "/Images/1/Color", "Color", {"Mode": "manual", "Brightness": str(11 + n)})
    _put(bview, "/System/DeviceInfo", "DeviceInfo", {"DeviceName": f"dirty-{n}"})
    _put(bview, "/Network/Interfaces/1/IPAddress/DNS", "DNS", {"SecondaryDNS": f"192.0.2.{n + 1}"})
"""


def _cams(n: int) -> list[CameraThread]:
    return [
        CameraThread(
            CameraOptions(
                time_scale=0.01,
                discovery=False,
                media=False,
                ssdp_port=0,
                identity=Identity(serial=f"LOST000{k}", mac=f"02:00:00:00:01:0{k}", model=f"BV-T{k}"),
            )
        )
        for k in range(1, n + 1)
    ]


def _state(cam: CameraThread) -> dict[str, Any]:
    store = cam.camera.device.store
    return {k: store.get(k) for k in store.keys() if k != "/System/Time"}


def _inventory(pytester: pytest.Pytester, cams: list[CameraThread], down: bool = False) -> None:
    rows = [
        f'[[camera]]\nlabel = "cam-{k}"\nhost = "127.0.0.1"\nhttp = {c.ports["http"]}\n' for k, c in enumerate(cams, 1)
    ]
    if down:
        rows.append('[[camera]]\nlabel = "gone"\nhost = "127.0.0.1"\nhttp = 9\n')
    pytester.makefile(".toml", inventory="\n".join(rows))


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "2"])
def test_fleet_restores_each_camera_into_itself(pytester: pytest.Pytester, workers: str) -> None:
    """Reproduction 1: a fleet without -n restored one camera's snapshot into the other."""
    pytester.makepyfile(test_dirty=DIRTY)
    cams = _cams(2)
    with cams[0], cams[1]:
        before = [_state(c) for c in cams]
        _inventory(pytester, cams)
        result = pytester.runpytest_inprocess(
            "--bview-inventory", "inventory.toml", "--bview-time-scale", "0.01", "--bview-report-dir", "out",
            "-n", workers, "-p", "no:randomly",
        )  # fmt: skip
        after = [_state(c) for c in cams]
    result.assert_outcomes(passed=6)
    assert after == before, "a camera was not put back as it was found"
    out = result.stdout.str()
    assert "NOT RESTORED" not in out
    if workers == "0":  # one process held both cameras: one verdict line each
        result.stdout.re_match_lines([r"BV-T1 LOST0001: device state restored: (\d+)/\1 resources identical"])
        result.stdout.re_match_lines([r"BV-T2 LOST0002: device state restored: (\d+)/\1 resources identical"])
    reports = sorted((pytester.path / "out").glob("BV-T*/*/*/results.json"))
    assert len(reports) == 2, reports
    for k, path in enumerate(reports, 1):
        data = json.loads(path.read_text())
        assert data["identity"]["SerialNum"] == f"LOST000{k}"
        assert len(data["tests"]) == 3 and all(t["id"].endswith(f"-cam-{k}]") for t in data["tests"])
        assert data["restore"].startswith("device state restored") and "identical" in data["restore"]


@pytest.mark.slow
def test_unreachable_fleet_camera_is_not_reported_as_another(pytester: pytest.Pytester) -> None:
    """Reproduction 1 (results): one camera reachable, one not: the reachable one's report holds its own tests."""
    pytester.makepyfile(test_dirty=DIRTY)
    (cam,) = _cams(1)
    with cam:
        before = _state(cam)
        _inventory(pytester, [cam], down=True)
        result = pytester.runpytest_inprocess(
            "--bview-inventory", "inventory.toml", "--bview-time-scale", "0.01", "--bview-report-dir", "out",
            "--bview-timeout", "2", "-p", "no:randomly",
        )  # fmt: skip
        after = _state(cam)
    result.assert_outcomes(passed=3, errors=3)
    assert after == before
    (report,) = (pytester.path / "out").glob("BV-T1/*/*/results.json")
    data = json.loads(report.read_text())
    assert len(data["tests"]) == 3 and all(t["verdict"] == "pass" for t in data["tests"])
    assert not list((pytester.path / "out").glob("unknown"))


def test_camera_of_reads_the_label_at_the_end_of_a_test_id() -> None:
    from pytest_bview.fleet import camera_of

    labels = ["door", "door-1", "sim-01"]
    assert camera_of("suites/test_a.py::test_x[door-1]", labels) == "door-1"
    assert camera_of("suites/test_a.py::test_x[GET /Images/1/Color-door]", labels) == "door"
    assert camera_of("suites/test_a.py::test_x[GET /Images/1/Color-door-1]", labels) == "door-1"
    assert camera_of("suites/test_a.py::test_x[sim-01]", labels) == "sim-01"
    assert camera_of("tests/test_b.py::test_y", labels) is None


def test_labels_that_would_be_ambiguous_are_refused(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml", inventory='[[camera]]\nlabel = "1"\nhost = "h"\n[[camera]]\nlabel = "door-1"\nhost = "i"\n'
    )
    pytester.makepyfile(test_dirty=DIRTY)
    result = pytester.runpytest_inprocess("--bview-inventory", "inventory.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "may not end with '-' and another label" in result.stderr.str()


def test_the_controller_says_loudly_when_a_camera_ran_on_two_workers() -> None:
    """Reproduction 2: on a pytest/xdist pair where grouping does not hold, the run fails, never silently."""
    from collections import defaultdict
    from types import SimpleNamespace

    from pytest_bview.fleet import FleetRecorder

    rec = FleetRecorder.__new__(FleetRecorder)
    rec.tests, rec.workers, rec.labels = {}, defaultdict(set), ["cam-1", "cam-2"]
    for worker, nodeid in (("gw0", "t.py::a[cam-1]"), ("gw1", "t.py::b[cam-1]"), ("gw1", "t.py::a[cam-2]")):
        report = SimpleNamespace(
            node=SimpleNamespace(gateway=SimpleNamespace(id=worker)),
            nodeid=nodeid,
            keywords={},
            duration=0.0,
            when="call",
            failed=False,
            skipped=False,
            passed=True,
            longreprtext="",
        )
        rec.pytest_runtest_logreport(report)  # type: ignore[arg-type]
    assert rec.split() == {"cam-1": ["gw0", "gw1"]}


@pytest.mark.slow
def test_one_camera_many_workers_has_one_writer(pytester: pytest.Pytester) -> None:
    """Reproduction 3: -n 2 against one camera: all its tests on one worker, restored, no stale journal."""
    pytester.makepyfile(test_dirty=DIRTY + "\ndef test_without_camera():\n    pass\n")
    (cam,) = _cams(1)
    with cam:
        before = _state(cam)
        result = pytester.runpytest_inprocess(*camera_args(cam, "-n", "2", "-v", "--bview-report-dir", "out"))
        after = _state(cam)
    result.assert_outcomes(passed=4)
    assert after == before
    workers = {w for w, _ in _worker_lines(result.stdout.str(), "test_dirty[")}
    assert len(workers) == 1, f"one camera's tests ran on {workers}"
    journals = list((pytester.path / "out").glob("journal-*"))
    assert [p.name for p in journals] == ["journal-BV-T1-LOST0001.json"]
    assert json.loads(journals[0].read_text())["restored"] is True


def _worker_lines(out: str, needle: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r"\[(gw\d+)\] .*?(" + re.escape(needle) + r"[^\]]*\])", out)


# -- reproduction 5: a target that is not a B-View 2 camera ---------------------------------------------


class _Plain(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def _answer(self) -> None:
        type(self).seen.append(self.command)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def plain_server() -> Iterator[int]:
    _Plain.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_not_a_bview_camera_is_never_written(pytester: pytest.Pytester, plain_server: int) -> None:
    pytester.makepyfile(test_dirty=DIRTY)
    result = pytester.runpytest_inprocess(
        "--bview-host", "127.0.0.1", "--bview-port", str(plain_server), "--bview-report-dir", "out"
    )
    assert result.ret == 8, result.stdout.str()
    assert set(_Plain.seen) == {"GET"} and len(_Plain.seen) <= 2
    out = result.stdout.str() + result.stderr.str()
    assert "is not a B-View 2 camera" in out and "Nothing was written" in out
    assert len(out.splitlines()) < 40
    assert not (pytester.path / "out").exists() or not list((pytester.path / "out").rglob("*"))


def test_unreachable_and_refused_have_their_own_exit_status(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_dirty=DIRTY)
    gone = pytester.runpytest_inprocess("--bview-host", "127.0.0.1", "--bview-port", "9", "--bview-timeout", "2")
    assert gone.ret == 6 and "unreachable" in gone.stdout.str() + gone.stderr.str()
    (cam,) = _cams(1)
    with cam:
        refused = pytester.runpytest_inprocess(*camera_args(cam, "--bview-password", "wrong"))
    assert refused.ret == 7 and "refuses the credentials" in refused.stdout.str() + refused.stderr.str()


def test_restore_from_picks_the_state_before_the_first_unrestored_run(tmp_path: Path) -> None:
    """Reproduction 4 (journal choice): an older run's interrupted journal holds the clean state; the
    newer, restored journal holds the state the interrupted run left."""
    from pytest_bview.restore import Snapshot, journal_path, pick_journal

    main = journal_path(tmp_path, "M", "S1")
    clean = Snapshot("M", "S1", "1", "h:1", "2026-01-01T00:00:00Z", {"/a": {"x": "clean"}})
    dirty = Snapshot("M", "S1", "1", "h:1", "2026-01-02T00:00:00Z", {"/a": {"x": "dirty"}}, restored=True)
    aside = main.with_name(f"{main.stem}.interrupted-100.json")
    aside.write_bytes(clean.to_json())
    main.write_bytes(dirty.to_json())
    assert pick_journal(tmp_path, "M", "S1") == aside
    aside.unlink()
    assert pick_journal(tmp_path, "M", "S1") == main
    assert pick_journal(tmp_path, "M", "other") is None


@pytest.mark.slow
def test_sigterm_to_an_xdist_controller_restores_the_camera(tmp_path: Path) -> None:
    """Reproduction 4 under xdist: CI's SIGTERM reaches the controller; its workers restore their camera."""
    import signal
    import subprocess
    import sys
    import time

    suite = Path(__file__).resolve().parents[1] / "suites" / "test_config.py"
    (cam,) = _cams(1)
    with cam:
        before = _state(cam)
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", str(suite), "-q", "-n", "2", "-p", "no:randomly", "-p", "no:cacheprovider",
             *camera_args(cam, "--bview-report-dir", str(tmp_path / "rep"))],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=suite.parents[1],
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while not list((tmp_path / "rep").glob("journal-*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)  # the first write has happened: the camera is being changed
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        after = _state(cam)
    text = out.decode(errors="replace")
    assert proc.returncode == 2, text[-3000:]
    assert after == before, [k for k in before if before[k] != after.get(k)]
    assert "device state restored" in text and "bview: stopped by SIGTERM" in text
    (journal,) = (tmp_path / "rep").glob("journal-*.json")
    assert json.loads(journal.read_text())["restored"] is True


def test_an_old_journal_is_not_the_past_of_a_new_built_in_camera(pytester: pytest.Pytester) -> None:
    """The built-in camera starts from factory settings in every session: a killed session's journal of its
    serial (holding, say, the HTTP port of that session's camera) is never restored into the next one."""
    from pytest_bview.restore import Snapshot, journal_path

    out = pytester.path / "out"
    out.mkdir()
    old = Snapshot("BV-IPC2-5MP", "BV2A00012345", "2.0.0", "127.0.0.1:1", "2026-01-01T00:00:00Z",
                   {"/Images/1/Color": {"Brightness": "3"}})  # fmt: skip
    journal_path(out, old.model, old.serial).write_bytes(old.to_json())
    pytester.makepyfile(test_dirty=DIRTY)
    result = pytester.runpytest_inprocess("--bview-report-dir", str(out), "-k", "test_dirty and 0")
    result.assert_outcomes(passed=1)
    assert "repaired from" not in result.stdout.str()
