"""The camera is left as it was found (pytest_bview/restore.py): snapshot, journal, batched restore, verdict."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import pytest_bview.target  # noqa: F401  (shared with pytester's in-process runs)
from pytest_bview.restore import Snapshot, journal_path, nest, plan, states
from pytest_bview.simulator.camera import CameraOptions, CameraThread

DIRTY = """
import pytest
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.protocol.xmlblocks import to_xml

def _put(bview, path, block, doc):
    ex = bview.client.put(path, to_xml(BLOCKS[block], doc))
    assert b"<statusCode>0</statusCode>" in ex.body, ex.body

@pytest.mark.reversible
def test_leaves_changes_behind(bview):
    _put(bview, "/Images/1/Color", "Color", {"Mode": "manual", "Brightness": "77"})
    _put(bview, "/Network/Interfaces/1/IPAddress/DNS", "DNS", {"SecondaryDNS": "192.0.2.99"})
    _put(bview, "/Network/DDNS/Config", "DDNSConfig", {"DomainName": "left.example.net"})
    _put(bview, "/Network/EMail", "Email", {"SMTPServer": "left.example.org"})
    _put(bview, "/System/Time", "Time", {"SystemTime": "2035-01-01T00:00:00Z"})
    body = ('<User><ID/><UserName>leftover</UserName><Password>Pw-1234</Password><UserLevel>Normal</UserLevel>'
            '<IPAddress/><MACAddress/></User>')
    assert b"<statusCode>0</statusCode>" in bview.client.request("POST", "/System/Users/1", body).body
    journal = list((bview.settings.report_dir).glob("journal-*.json"))
    assert journal and json.loads(journal[0].read_text())["restored"] is False
"""


def _args(cam: CameraThread, *extra: str) -> list[str]:
    return [
        "--bview-host",
        "127.0.0.1",
        "--bview-port",
        str(cam.ports["http"]),
        "--bview-time-scale",
        "0.01",
        "-p",
        "no:cacheprovider",
        *extra,
    ]


def _state(cam: CameraThread) -> dict:
    store = cam.camera.device.store
    return {k: store.get(k) for k in store.keys()}


def test_session_restores_and_batches_network_writes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_dirty="import json\n" + DIRTY)
    with CameraThread(CameraOptions(time_scale=0.01, discovery=False, media=False)) as cam:
        before = _state(cam)
        rec = pytester.inline_run(*_args(cam, "--bview-report-dir", str(pytester.path / "rep")))
        after = _state(cam)
    rec.assertoutcome(passed=1)
    config = rec.getcalls("pytest_sessionfinish")[0].session.config
    (state,) = states(config)
    verdict = state.verdict
    assert verdict.ok, verdict.problems
    assert verdict.identical == verdict.total > 30
    # DNS, DDNS and EMail are all parts of /Network: one network write puts them back (9.1)
    assert verdict.network_writes == 1
    assert {k: v for k, v in after.items() if k != "/System/Time"} == {
        k: v for k, v in before.items() if k != "/System/Time"
    }
    journal = journal_path(pytester.path / "rep", "BV-IPC2-5MP", "BV2A00012345")
    assert json.loads(journal.read_text())["restored"] is True


def test_terminal_line_and_loud_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_dirty="import json\n" + DIRTY)
    with CameraThread(CameraOptions(time_scale=0.01, discovery=False, media=False)) as cam:
        ok = pytester.runpytest_inprocess(*_args(cam))
        cam.camera.faults.names = frozenset({"users-delete-not-removed"})
        bad = pytester.runpytest_inprocess(*_args(cam))
        cam.camera.faults.names = frozenset()
    ok.stdout.re_match_lines([r"device state restored: (\d+)/\1 resources identical"])
    assert ok.ret == 0
    assert bad.ret != 0
    bad.stdout.fnmatch_lines(
        ["device state restored: */* resources identical", "*NOT RESTORED /System/Users*leftover*"]
    )


def test_restore_from_journal_repairs_an_interrupted_run(pytester: pytest.Pytester) -> None:
    with CameraThread(CameraOptions(time_scale=0.01, discovery=False, media=False)) as cam:
        from pytest_bview.client import Client
        from pytest_bview.options import BUILTIN_TIME_SCALE  # noqa: F401
        from pytest_bview.restore import take, write_atomically

        class _T:  # the parts of Target that `take` uses
            def __init__(self) -> None:
                from pytest_bview.spec.resources import Instances

                self.client = Client(f"http://127.0.0.1:{cam.ports['http']}", "admin", "admin", settle=0.05)
                self.identity = {"SerialNum": "BV2A00012345"}
                self.model, self.firmware, self.host, self.port = "BV-IPC2-5MP", "2.0.0", "127.0.0.1", 0
                self.instances = Instances()

            def urls(self, r):
                return list(self.instances.expand(r))

            def read(self, path):
                from pytest_bview.target import Target

                return Target.read(self, path)  # type: ignore[arg-type]

        t = _T()
        snap = take(t)
        path = journal_path(pytester.path / "j", snap.model, snap.serial)
        write_atomically(path, snap.to_json())
        t.client.put("/Images/1/Color", "<Color><Brightness>11</Brightness></Color>")  # then the run "dies"
        result = pytester.runpytest_inprocess(*_args(cam, "--bview-restore-from", str(pytester.path / "j")))
        assert (
            cam.camera.device.store.get("/Images/1/Color")["Brightness"]
            == snap.resources["/Images/1/Color"]["Brightness"]
        )
        t.client.close()
    assert result.ret == 0, result.stdout.str()
    result.stdout.re_match_lines([r"device state restored: (\d+)/\1 resources identical"])
    assert Snapshot.load(path).restored is True


def test_readonly_takes_no_snapshot(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_ro="def test_ro(bview):\n    assert bview.read('/System/DeviceInfo')[0]\n")
    with CameraThread(CameraOptions(time_scale=0.01, discovery=False, media=False)) as cam:
        result = pytester.runpytest_inprocess(*_args(cam, "--bview-level", "readonly"))
    assert result.ret == 0
    assert "device state restored" not in result.stdout.str()
    assert not list(Path(pytester.path).rglob("journal-*.json"))


def test_network_parts_nest_into_one_partial_network_document() -> None:
    doc = nest(
        "/Network/Interfaces/{NetworkCardID}/IPAddress/DNS", {"NetworkCardID": "1"}, {"SecondaryDNS": "x"}, "/Network"
    )
    assert doc == {"Interfaces": {"Interface": [{"ID": "1", "IPAddress": {"DNS": {"SecondaryDNS": "x"}}}]}}
    writes = plan(
        {
            "/Network/Interfaces/1/IPAddress/DNS": {"SecondaryDNS": "x"},
            "/Network/DDNS/Config": {"DomainName": "d"},
            "/Network/FTP": {"Port": "21"},
            "/Images/1/Color": {"Brightness": "5"},
            "/Record": {"PreRecord": "5"},
        }
    )
    paths = [w[0] for w in writes]
    assert paths.count("/Network") == 1 and "/Network/FTP" in paths
    assert paths.index("/Network") < paths.index("/Images/1/Color") < paths.index("/Network/FTP")  # interleaved


@pytest.mark.parametrize("journalled", ["where it went", "nothing (DHCP)"])
def test_restore_from_brings_a_moved_camera_home(pytester: pytest.Pytester, journalled: str) -> None:
    """Rule 5: the run died while the camera was at another address; --bview-restore-from finds it (a PUT where
    the journal says it went, else Discovery V2 103 by MAC), brings it back to --bview-host, then restores."""
    import time

    import requests

    opts = CameraOptions(time_scale=0.01, discovery_port=0, ssdp_port=0, media=False)
    with CameraThread(opts) as cam:
        port, auth = cam.ports["http"], ("admin", "admin")
        wired = "/Network/Interfaces/1/IPAddress"
        text = requests.get(f"http://127.0.0.1:{port}{wired}", auth=auth, timeout=5).text
        original = cam.camera.device.read(*_wired(cam), _caller())
        original["DHCP"] = {"Enable": original["DHCP"]["Enable"]}
        snap = Snapshot(
            "BV-IPC2-5MP", "BV2A00012345", "2.0.0", f"127.0.0.1:{port}", "2026-11-24T00:00:00Z",
            away={"address": "127.0.0.66" if journalled == "where it went" else None,
                  "mac": original["MacAddress"], "original": original},
        )  # fmt: skip
        path = journal_path(pytester.path / "j", snap.model, snap.serial)
        from pytest_bview.restore import write_atomically

        write_atomically(path, snap.to_json())
        moved = text.replace("<ipAddress>127.0.0.1<", "<ipAddress>127.0.0.66<")
        assert requests.put(f"http://127.0.0.1:{port}{wired}", data=moved, auth=auth, timeout=5).ok
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _answers("127.0.0.66", port):
            time.sleep(0.05)
        assert _answers("127.0.0.66", port)  # then the run "dies"
        result = pytester.runpytest_inprocess(
            *_args(cam, "--bview-restore-from", str(pytester.path / "j"), "--bview-discovery-port",
                   str(cam.ports["discovery"])),
        )  # fmt: skip
        home = cam.camera.options.bind
    assert result.ret == 0, result.stdout.str()
    assert home == "127.0.0.1"
    result.stdout.fnmatch_lines(["bview: brought home from * to 127.0.0.1:* (*back at 127.0.0.1*"])
    assert Snapshot.load(path).away is None and Snapshot.load(path).restored is True


def _answers(host: str, port: int) -> bool:
    import requests

    try:
        return requests.get(f"http://{host}:{port}/System/DeviceInfo", auth=("admin", "admin"), timeout=1).ok
    except requests.RequestException:
        return False


def _wired(cam: CameraThread):
    from pytest_bview.spec.resources import match

    found = match("/Network/Interfaces/1/IPAddress")
    assert found is not None
    return found[0], {k: int(v) for k, v in found[1].items()}


def _caller():
    from pytest_bview.simulator.device import Caller

    return Caller("test", "Adminstrator", "", "")


def test_restore_from_brings_back_a_camera_on_another_port(pytester: pytest.Pytester) -> None:
    """Rule 5 for /Network/Port: the run died after the HTTP port change; the repair finds the camera on the
    port the journal names, puts the original /Network/Port back there, and restores."""
    import time

    import requests

    with CameraThread(CameraOptions(time_scale=0.01, discovery=False, media=False)) as cam:
        port, auth = cam.ports["http"], ("admin", "admin")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            new_port = s.getsockname()[1]
        doc = cam.camera.device.store.get("/Network/Port")
        snap = Snapshot(
            "BV-IPC2-5MP", "BV2A00012345", "2.0.0", f"127.0.0.1:{port}", "2026-11-24T00:00:00Z",
            away={"address": None, "port": new_port, "mac": "00:1A:2B:3C:4D:5E", "path": "/Network/Port",
                  "original": doc},
        )  # fmt: skip
        path = journal_path(pytester.path / "j", snap.model, snap.serial)
        from pytest_bview.restore import write_atomically

        write_atomically(path, snap.to_json())
        moved = f"<Port><HTTP>{new_port}</HTTP></Port>"
        assert requests.put(f"http://127.0.0.1:{port}/Network/Port", data=moved, auth=auth, timeout=5).ok
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _answers("127.0.0.1", new_port):
            time.sleep(0.05)
        assert _answers("127.0.0.1", new_port)  # then the run "dies"
        args = _args(cam, "--bview-restore-from", str(pytester.path / "j"))
        args[args.index("--bview-port") + 1] = str(port)  # where the run found it (the camera now says new_port)
        result = pytester.runpytest_inprocess(*args)
        home = _answers("127.0.0.1", port)
    assert result.ret == 0, result.stdout.str()
    assert home
    result.stdout.fnmatch_lines([f"bview: brought home from 127.0.0.1:{new_port} to 127.0.0.1:{port} (*"])
    assert Snapshot.load(path).away is None


def test_interrupt_report_survives_a_lineless_traceback_entry() -> None:
    """CI once saw a SIGTERM end a run with status 1: the KeyboardInterrupt was raised at an instruction
    with no line (CPython 3.11), and pytest's report of it failed with a TypeError. The kit unlinks such
    entries before pytest renders the interrupt."""
    import sys
    import types

    from pytest_bview.restore import without_lineless_entries

    try:
        try:
            raise ValueError("inner")
        except ValueError:
            raise KeyboardInterrupt("SIGTERM")  # noqa: B904 (chained by context, as a signal handler's is)
    except KeyboardInterrupt as exc:
        caught = exc
    frame = sys._getframe()
    for exc in (caught, caught.__context__):
        assert exc is not None and exc.__traceback__ is not None
        lineless = types.TracebackType(exc.__traceback__.tb_next, frame, 10**6, -1)
        assert lineless.tb_lineno is None  # what the interpreter made at the interrupted instruction
        exc.__traceback__.tb_next = lineless
    with pytest.raises(TypeError):
        pytest.ExceptionInfo.from_exception(caught).getrepr(funcargs=True)  # pytest's own failure

    without_lineless_entries(caught)
    text = str(pytest.ExceptionInfo.from_exception(caught).getrepr(funcargs=True))
    assert "KeyboardInterrupt: SIGTERM" in text and "ValueError: inner" in text
