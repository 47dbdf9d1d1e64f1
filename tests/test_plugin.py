"""The plugin seen from outside: options and fallbacks, the built-in camera, evidence, bad targets."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pytest_bview.simulator.camera import CameraThread
from tests._camera import camera_args

ROOT = Path(__file__).resolve().parents[1]

PASSING = """
import pytest

@pytest.mark.readonly
def test_identity(bview):
    doc, ex = bview.read("/System/DeviceInfo")
    assert doc["DeviceTypeName"]
"""

FAILING = """
import pytest
from pytest_bview.checks import check_status

@pytest.mark.reversible
def test_brightness_rejected(bview):
    ex = bview.client.put("/Images/1/Color", "<Color><Mode>manual</Mode><Brightness>50</Brightness></Color>")
    check_status(ex, -5, "9.6.1.3", "deliberately wrong expectation")
"""


def test_builtin_camera_runs_and_reports_identity(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one=PASSING)
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*bview: camera under test: built-in reference camera at 127.0.0.1:*",
            "*bview: model BV-IPC2-5MP*firmware 2.0.0*",
            "spec coverage: */130 resource-methods",
            "bview: network-configuration writes: 0 (floor 0.0 s of settle; settle waits: 0.0 s slept*",
        ]
    )


def test_failure_has_reproduction_and_no_password(pytester: pytest.Pytester) -> None:
    secret = "S3cret-never-printed"
    with CameraThread(time_scale=0.01) as cam:
        cam.camera.device.store.commit(
            resources={
                "/System/Users": {
                    "User": [
                        {
                            "ID": "0",
                            "UserName": "admin",
                            "Password": secret,
                            "UserLevel": "Adminstrator",
                            "IPAddress": "",
                            "MACAddress": "",
                        }
                    ]
                }
            }
        )
        pytester.makepyfile(test_fail=FAILING)
        result = pytester.runpytest_inprocess(
            "--bview-host",
            "127.0.0.1",
            "--bview-port",
            str(cam.ports["http"]),
            "--bview-password",
            secret,
            "--bview-time-scale",
            "0.01",
        )
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "Reproduce with: curl" in out and "admin:****" in out
    assert "spec 7" in out or "spec 9.6.1.3" in out
    assert secret not in out


def test_options_fall_back_to_environment_then_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\nbview_timeout = 7\nbview_level = readonly\n")
    pytester.makepyfile(
        test_opts="""
        def test_settings(bview):
            s = bview.settings
            print("SETTINGS", s.timeout, s.level, s.channel)
    """
    )
    monkeypatch.setenv("BVIEW_LEVEL", "reversible")
    result = pytester.runpytest_inprocess("-s", "--bview-channel", "1")
    result.stdout.fnmatch_lines(["*SETTINGS 7.0 reversible 1*"])


def test_bad_option_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(bview): pass")
    result = pytester.runpytest_inprocess("--bview-timeout", "soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--bview-timeout*soon*"])


def test_unreachable_host_is_one_session_error(pytester: pytest.Pytester) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pytester.makepyfile(test_x=PASSING)
    result = pytester.runpytest_inprocess(
        "--bview-host", "127.0.0.1", "--bview-port", str(port), "--bview-timeout", "2"
    )
    assert result.ret == 6  # documented: unreachable
    assert "unreachable" in result.stdout.str() + result.stderr.str()


def test_wrong_credentials_are_one_session_error(pytester: pytest.Pytester) -> None:
    with CameraThread(time_scale=0.01) as cam:
        pytester.makepyfile(test_x=PASSING)
        result = pytester.runpytest_inprocess(
            "--bview-host", "127.0.0.1", "--bview-port", str(cam.ports["http"]), "--bview-password", "wrong"
        )
    assert result.ret == 7  # documented: credentials refused
    assert "refuses the credentials" in result.stdout.str() + result.stderr.str()


def test_readonly_tier_sends_no_writes(pytester: pytest.Pytester) -> None:
    """--bview-level readonly: the whole suite runs and the camera sees no PUT, POST or DELETE."""
    with CameraThread(time_scale=0.01) as cam:
        result = pytester.runpytest_inprocess(
            str(ROOT / "suites"), f"--rootdir={ROOT}", *camera_args(cam, "--bview-level", "readonly", "-q")
        )
        seen = dict(cam.camera.requests_seen)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert seen.get("GET", 0) > 0
    assert {m: n for m, n in seen.items() if m != "GET"} == {}, seen


def test_plugin_is_dormant_without_camera_tests(pytester: pytest.Pytester) -> None:
    """Running unrelated tests never starts a camera (the plugin is loaded for every pytest run)."""
    pytester.makepyfile(test_plain="def test_plain(): assert True")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1)
    assert "bview:" not in result.stdout.str()
    assert "spec coverage" not in result.stdout.str()


def test_markers_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--markers")
    out = result.stdout.str()
    for marker in ("readonly", "reversible", "disruptive", "media", "discovery", "network"):
        assert f"@pytest.mark.{marker}:" in out


def test_help_lists_bview_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*B-View 2 conformance*", "*--bview-host=BVIEW_HOST*"])
