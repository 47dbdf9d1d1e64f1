"""Fleet runs (pytest_bview/fleet.py): many cameras, one xdist group each, a summary per fleet (issue 9)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_bview.simulator.camera import CameraOptions, CameraThread
from pytest_bview.simulator.device import Identity

SUITE = """
import pytest

@pytest.fixture(scope="module")
def serial(bview):
    return bview.identity["SerialNum"]

@pytest.mark.readonly
@pytest.mark.system
@pytest.mark.parametrize("n", range(3))
def test_identity_stays(bview, serial, n):
    doc, ex = bview.read("/System/DeviceInfo")
    assert doc["SerialNum"] == serial  # a module fixture is per camera, never another camera's

@pytest.mark.reversible
@pytest.mark.network
def test_fails_on_the_second(bview):
    assert not bview.identity["SerialNum"].endswith("2"), "deliberate failure on the second camera"

def test_without_camera():
    pass
"""


def _summary(report_dir: Path) -> tuple[Path, dict]:
    (fleet,) = report_dir.glob("fleet-*")
    return fleet, json.loads((fleet / "summary.json").read_text())


@pytest.mark.slow
def test_sim_fleet_keeps_each_camera_in_one_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fleet_suite=SUITE)
    result = pytester.runpytest_inprocess(
        "--bview-sim-count", "3", "-n", "2", "-v", "-p", "no:randomly", "--bview-report-dir", "out"
    )
    result.assert_outcomes(passed=12, failed=1)
    result.stdout.fnmatch_lines(["*bview: fleet summary: *summary.html"])
    workers: dict[str, set[str]] = {}
    for worker, label in re.findall(r"\[(gw\d)\] .*\[(sim-\d)[\]-]", result.stdout.str()):
        workers.setdefault(label, set()).add(worker)
    assert set(workers) == {"sim-1", "sim-2", "sim-3"}
    assert all(len(w) == 1 for w in workers.values()), f"a camera's tests ran on several workers: {workers}"

    fleet, data = _summary(pytester.path / "out")
    cams = {c["label"]: c for c in data["cameras"]}
    assert set(cams) == {"sim-1", "sim-2", "sim-3"}
    assert len({c["identity"]["SerialNum"] for c in cams.values()}) == 3
    assert cams["sim-2"]["areas"]["network"]["verdict"] == "fail"
    assert cams["sim-1"]["areas"]["network"]["verdict"] == "pass"
    assert cams["sim-1"]["areas"]["system"]["counts"] == {"pass": 3}
    assert [c["verdict"] for c in data["cameras"]] == ["pass", "fail", "pass"]
    for label in cams:
        tests = json.loads((fleet / label / "results.json").read_text())["tests"]
        assert len(tests) == 4
    html = (fleet / "summary.html").read_text()
    assert "deliberate failure on the second camera" in html and "<table>" in html


@pytest.mark.slow
@pytest.mark.parametrize("kind, workers", [("toml", "0"), ("csv", "0"), ("toml", "2")])
def test_inventory_of_running_cameras(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kind: str, workers: str
) -> None:
    secret = "Fleet-Secret-42"
    monkeypatch.setenv("CAM_B_PASSWORD", secret)
    pytester.makepyfile(test_fleet_suite=SUITE)
    cams = [
        CameraThread(
            CameraOptions(
                time_scale=0.01,
                discovery_port=0,
                ssdp_port=0,
                identity=Identity(serial=f"INV0000{n}", mac=f"02:00:00:00:00:0{n}", password=pw),
            )
        )
        for n, pw in ((1, "admin"), (2, secret))
    ]
    with cams[0], cams[1]:
        a, b = (c.ports for c in cams)
        if kind == "toml":
            pytester.makefile(
                ".toml",
                inventory=f"""
                [[camera]]
                label = "cam-a"
                host = "127.0.0.1"
                http = {a["http"]}
                rtsp = {a["rtsp"]}

                [[camera]]
                label = "cam-b"
                host = "127.0.0.1"
                ports = {{ http = {b["http"]}, rtsp = {b["rtsp"]}, discovery = 5566 }}
                password_env = "CAM_B_PASSWORD"
                """,
            )
        else:
            pytester.makefile(
                ".csv",
                inventory=f"label,host,http,rtsp,password_env\n"
                f"cam-a,127.0.0.1,{a['http']},{a['rtsp']},\n"
                f"cam-b,127.0.0.1,{b['http']},{b['rtsp']},CAM_B_PASSWORD\n",
            )
        result = pytester.runpytest_inprocess(
            f"--bview-inventory=inventory.{kind}",
            "--bview-time-scale",
            "0.01",
            "--bview-report-dir",
            "out",
            "-n",
            workers,
        )
    result.assert_outcomes(passed=8, failed=1)
    out = result.stdout.str()
    assert "bview: fleet of 2 cameras: cam-a (http://127.0.0.1:" in out
    fleet, data = _summary(pytester.path / "out")
    assert [c["identity"]["SerialNum"] for c in data["cameras"]] == ["INV00001", "INV00002"]
    assert [c["verdict"] for c in data["cameras"]] == ["pass", "fail"]
    for path in fleet.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(), f"{path} holds the password"
    assert secret not in out


@pytest.mark.parametrize(
    "inventory, message",
    [
        ('[[camera]]\nlabel = "a"\nhost = "h"\npassword = "x"\n', "never the password itself"),
        ('[[camera]]\nlabel = "a"\nhost = "h"\npassword_env = "BVIEW_TEST_UNSET_VAR"\n', "is not set"),
        ('[[camera]]\nlabel = "a b"\nhost = "h"\n', "label 'a b'"),
        ('[[camera]]\nlabel = "a"\nhost = "h"\n[[camera]]\nlabel = "a"\nhost = "i"\n', "used twice"),
        ('[[camera]]\nlabel = "a"\nhost = "h"\nhttp = 70000\n', "not 1-65535"),
        ('[[camera]]\nlabel = "a"\nhost = "h"\ncolour = "red"\n', "unknown field(s) colour"),
    ],
)
def test_bad_inventory_is_a_usage_error(pytester: pytest.Pytester, inventory: str, message: str) -> None:
    pytester.makefile(".toml", inventory=inventory)
    pytester.makepyfile(test_fleet_suite=SUITE)
    result = pytester.runpytest_inprocess("--bview-inventory", "inventory.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_single_camera_path_has_no_fleet(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fleet_suite=SUITE.replace('endswith("2")', 'endswith("never")'))
    result = pytester.runpytest_inprocess("--bview-report-dir", "out")
    result.assert_outcomes(passed=5)
    assert "bview: fleet" not in result.stdout.str()
    assert "[sim-" not in result.stdout.str()
    assert not list((pytester.path / "out").glob("fleet-*"))
