"""Security of the kit: passwords never leak into any artefact; https verifies certificates by default.

The grep test runs a real session (some checks failing, so that failure messages, exchanges and curl
lines are written) against a reference camera whose admin password is distinctive, and searches every
file under the report directory, the junit file and the captured output for the password and for its
Basic-credentials form.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_bview.client import Client, DeviceError
from pytest_bview.simulator.camera import CameraOptions, CameraThread
from pytest_bview.simulator.device import Identity

ROOT = Path(__file__).resolve().parents[1]
SECRET = "Zq7-never-in-any-report-9xK"
CHECKS = (
    "suites/test_protocol.py",
    "suites/test_config.py::test_partial_update_keeps_other_fields",
    "suites/test_schema.py::test_get_matches_schema[GET /Images/1/Color]",
)


def _leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    forms = {
        "password": SECRET.encode(),
        "Basic credentials": base64.b64encode(f"admin:{SECRET}".encode()),
        "URL credentials": f"admin:{SECRET}@".encode(),
    }
    return [name for name, form in forms.items() if form in data]


def test_password_never_in_reports_logs_curl_junit_or_results(pytester: pytest.Pytester) -> None:
    options = CameraOptions(
        time_scale=0.01,
        ssdp_port=0,
        discovery=False,
        faults=("http-xml-content-type", "status-no-request-url"),  # failures with evidence and curl lines
        identity=Identity(password=SECRET),
    )
    reports, junit = pytester.path / "reports", pytester.path / "junit.xml"
    with CameraThread(options) as cam:
        result = _run(pytester, cam, reports, junit)  # the password comes from BVIEW_PASSWORD
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) > 0 and outcomes.get("passed", 0) > 0, result.stdout.str()[-3000:]
    assert "Reproduce with: curl" in result.stdout.str()
    leaks = {"stdout": _leaks(result.stdout.str()), "stderr": _leaks(result.stderr.str())}
    files = [junit, *(p for p in reports.rglob("*") if p.is_file())] if reports.exists() else [junit]
    for path in files:
        leaks[str(path.relative_to(pytester.path))] = _leaks(path.read_bytes())
    found = {where: what for where, what in leaks.items() if what}
    assert not found, f"the password leaked: {found}"
    assert _leaks(f"curl -u admin:{SECRET}"), "the grep itself must be able to find a leak"
    if importlib.util.find_spec("pytest_bview.report.hooks") is not None:
        assert any(p.name == "results.json" for p in files), f"no report written under {reports}"


def _run(pytester: pytest.Pytester, cam: CameraThread, reports: Path, junit: Path) -> pytest.RunResult:
    """A session with DEBUG logging, the password given as the README recommends (environment)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BVIEW_PASSWORD", SECRET)
        return pytester.runpytest_subprocess(
            *(str(ROOT / c) for c in CHECKS),
            f"--rootdir={ROOT}",
            "-p",
            "no:cacheprovider",
            "--bview-host=127.0.0.1",
            f"--bview-port={cam.ports['http']}",
            f"--bview-rtsp-port={cam.ports['rtsp']}",
            "--bview-time-scale=0.01",
            f"--bview-report-dir={reports}",
            f"--junitxml={junit}",
            "-rA",
            "--log-level=DEBUG",
            timeout=300,
        )


# -- https ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_camera() -> Iterator[CameraThread]:
    with CameraThread(CameraOptions(time_scale=0.01, ssdp_port=0, discovery=False, https=True)) as cam:
        yield cam


def test_client_verifies_certificates_by_default(tls_camera: CameraThread) -> None:
    base = f"https://127.0.0.1:{tls_camera.ports['http']}"
    with pytest.raises(DeviceError, match="TLS failed.*--bview-ca FILE, or --bview-insecure"):
        Client(base, "admin", "admin", timeout=5).get("/System/DeviceInfo")
    assert (
        Client(base, "admin", "admin", verify=tls_camera.ports["certificate"]).get("/System/DeviceInfo").status == 200
    )
    assert Client(base, "admin", "admin", verify=False).get("/System/DeviceInfo").status == 200


@pytest.mark.parametrize(
    ("extra", "outcome"),
    [((), "refused"), (("--bview-ca={certificate}",), "passed"), (("--bview-insecure",), "passed")],
    ids=["default-verifies", "bview-ca", "bview-insecure"],
)
def test_plugin_https_options(pytester: pytest.Pytester, tls_camera: CameraThread, extra: tuple, outcome: str) -> None:
    pytester.makepyfile(
        test_one="""
        def test_identity(bview):
            assert bview.read("/System/DeviceInfo")[0]["DeviceTypeName"]
        """
    )
    args = [a.format(certificate=tls_camera.ports["certificate"]) for a in extra]
    result = pytester.runpytest_subprocess(
        "--bview-host=127.0.0.1",
        f"--bview-port={tls_camera.ports['http']}",
        "--bview-scheme=https",
        "--bview-time-scale=0.01",
        f"--bview-report-dir={pytester.path / 'reports'}",
        *args,
        timeout=120,
    )
    if outcome == "refused":
        assert result.ret == 10, result.stdout.str()[-2000:]  # documented: TLS failed (not "unreachable")
        result.stdout.fnmatch_lines(["*TLS failed*CERTIFICATE_VERIFY_FAILED*--bview-ca FILE*"])
        assert "unreachable" not in result.stdout.str()
    else:
        result.assert_outcomes(passed=1)


def test_ca_and_insecure_together_is_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_one="def test_x(bview): pass")
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    result = pytester.runpytest_inprocess("--bview-host=127.0.0.1", f"--bview-ca={ca}", "--bview-insecure")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--bview-ca and --bview-insecure contradict each other*"])


def test_bview_sim_https_serves_a_generated_certificate(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_bview.simulator.cli", "--https", "--no-discovery", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert Path(ready["certificate"]).is_file() and (tmp_path / "tls" / "key.pem").stat().st_mode & 0o077 == 0
        client = Client(f"https://localhost:{ready['http']}", "admin", "admin", verify=ready["certificate"])
        assert client.get("/System/DeviceInfo").status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
