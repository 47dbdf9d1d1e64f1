"""A feature the device says it lacks gives "not supported" verdicts, not failures (issue 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_bview.simulator.camera import CameraThread
from tests._camera import camera_args

ROOT = Path(__file__).resolve().parents[1]


def test_audio_checks_not_supported_without_two_way_audio(pytester: pytest.Pytester) -> None:
    with CameraThread(time_scale=0.01, ssdp_port=0, discovery_port=0) as cam:
        store = cam.camera.device.store
        info = store.get("/System/DeviceInfo")
        store.commit(resources={"/System/DeviceInfo": {**info, "TwoWayAudio": "false"}})
        result = pytester.runpytest_inprocess(
            str(ROOT / "suites/test_streams.py::test_audio_needs_open"), f"--rootdir={ROOT}", *camera_args(cam, "-rs")
        )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*not supported: the device has no two-way audio*"])
