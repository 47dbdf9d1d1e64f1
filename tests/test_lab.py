"""The lab (pytest_bview/lab.py): the reference camera's /_sim/ controls as the suites reach them, and the skip
on a camera that has none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from pytest_bview.lab import Lab, LabError
from pytest_bview.simulator import camera as camera_module
from pytest_bview.simulator.camera import CameraThread
from pytest_bview.spec.facts import MAX_LOG_ENTRIES
from tests._camera import camera_args

ADMIN = ("admin", "admin")


@pytest.fixture(scope="module")
def cam() -> Iterator[CameraThread]:
    with CameraThread(time_scale=0.01, discovery_port=0, ssdp_port=0, media=False) as cam:
        yield cam


def base(cam: CameraThread) -> str:
    return f"http://127.0.0.1:{cam.ports['http']}"


def test_the_index_lists_the_controls_to_the_admin_alone(cam: CameraThread) -> None:
    """GET /_sim/ names every control (the lab is there); without credentials 401, a Normal user 403 (http.py)."""
    r = requests.get(base(cam) + "/_sim/", auth=ADMIN, timeout=10)
    assert r.status_code == 200, r.text
    controls = r.json()["controls"]
    for control in ("POST /_sim/motion", "POST /_sim/log", "GET /_sim/firmware", "GET /_sim/factory-defaults"):
        assert control in controls, controls
    assert requests.get(base(cam) + "/_sim/", timeout=10).status_code == 401


class _Target:
    """What Lab needs of a Target: the client's base URL, verify and known secrets, the credentials, a timeout."""

    def __init__(self, cam: CameraThread) -> None:
        from pytest_bview.client import Secrets

        self.client = type(
            "C", (), {"base_url": base(cam), "session": requests.Session(), "secrets": Secrets("admin")}
        )()
        self.user, self.password, self.timeout = "admin", "admin", 10.0


def test_the_lab_of_the_reference_camera(cam: CameraThread) -> None:
    """Every control answers through Lab: a firmware package of the camera's format, a relabelled configuration
    file, the factory values, a stored secret read and put back, the log filled past its limit."""
    target = _Target(cam)
    lab = Lab.probe(target)
    assert lab is not None and "GET /_sim/store" in lab.controls
    package = lab.firmware_package("BV-IPC2-5MP", "2.0.1")
    assert package.startswith(b"BVFWPKG2") and b"2.0.1" in package[:104]
    with pytest.raises(LabError, match="400"):
        lab.firmware_package("BV-IPC2-5MP", "not a version")
    exported = requests.get(base(cam) + "/System/DeviceConfigFile", auth=ADMIN, timeout=10).content
    foreign = lab.relabel_config(exported, "BVIEW-OTHER-MODEL")
    assert foreign.startswith(b"BVCONF01") and foreign != exported
    values = lab.factory_values()
    assert values["/Images/1/Color"]["Mode"]
    ftp = lab.stored("/Network/FTP")
    lab.store("/Network/FTP", {**ftp, "Password": "Lab-Secret-1"})
    assert lab.stored("/Network/FTP")["Password"] == "Lab-Secret-1"
    assert "Lab-Secret-1" in target.client.secrets.values  # a password the lab set is never shown in a report
    lab.store("/Network/FTP", ftp)
    assert lab.stored("/Network/FTP") == ftp
    assert lab.fill_log(MAX_LOG_ENTRIES) > MAX_LOG_ENTRIES
    with pytest.raises(LabError, match="no such stored resource"):
        lab.stored("/Nothing/Here")


LAB_CHECKS = """
import pytest

@pytest.mark.bview_lab("a full log")
def test_marked(bview):
    assert bview.lab is not None

def test_fixture(bview_lab):
    assert bview_lab.controls

@pytest.mark.needs_operator
def test_motion(bview_motion):
    assert bview_motion(0, 0).reason  # the camera answered (motion detection is off by default)

def test_plain(bview):
    assert bview.lab is None or bview.lab.controls
"""


def test_lab_checks_run_on_the_reference_camera(pytester: pytest.Pytester, cam: CameraThread) -> None:
    """A bview-sim reached by address (not started by the session) has its lab too: nothing skips."""
    pytester.makepyfile(test_lab_checks=LAB_CHECKS)
    result = pytester.runpytest_inprocess(*camera_args(cam))
    result.assert_outcomes(passed=4)


def test_lab_checks_skip_on_a_camera_without_lab(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A camera whose /_sim/ answers 404 (a real camera) has no lab: each lab check is skipped with the reason
    "needs the reference camera's lab: ...", motion with the operator's reason; the other checks run."""
    for key in [k for k in camera_module.SIM_ROUTES if k[1].startswith("/_sim/")]:
        monkeypatch.delitem(camera_module.SIM_ROUTES, key)
    pytester.makepyfile(test_lab_checks=LAB_CHECKS)
    result = pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(
        [
            "*test_lab_checks.py:*needs the reference camera's lab: a full log (a real camera has no /_sim/*",
            "*test_lab_checks.py:*needs the reference camera's lab: a control only the reference camera has*",
            "*needs an operator*",
        ],
        consecutive=False,
    )
