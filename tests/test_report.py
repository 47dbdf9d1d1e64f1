"""Per-firmware reports on real runs of the built-in camera: layout, results.json, index, matrix,
evidence, diff and its exit status, verify, expectations, and no password in any artefact (issue 8).

The runs: a small subset of the suites plus one local test that reports "not supported" on firmware
1.1, run as separate pytest processes against the built-in camera -- firmware "1.0" conformant, then
firmware "1.1" with fault profiles on (a field missing from /Images/1/Color, malformed XML accepted).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_bview.report import model as m
from pytest_bview.report.cli import main as report_cli
from pytest_bview.report.expectations import Expectations, firmware_matches
from pytest_bview.simulator.camera import CameraThread

ROOT = Path(__file__).resolve().parents[1]
SUBSET = [
    "suites/test_schema.py",
    "suites/test_config.py::test_round_trip[PUT /Images/1/Color]",
    "suites/test_config.py::test_round_trip[PUT /System/NTP]",
    "suites/test_protocol.py::test_malformed_xml",
]
FAULTS_1_1 = ("schema-missing-required", "xml-malformed-accepted")
FEATURES = '''
import pytest
from pytest_bview.verdicts import not_supported


@pytest.mark.readonly
def test_two_way_audio(bview):
    """9.2.4: two-way audio where DeviceInfo announces it."""
    doc, ex = bview.read("/System/DeviceInfo")
    if bview.firmware == "1.1":
        not_supported("DeviceInfo TwoWayAudio false on this build")
    assert doc["TwoWayAudio"] in ("true", "false")
'''
MALFORMED = "suites/test_protocol.py::test_malformed_xml"
COLOR_SCHEMA = "suites/test_schema.py::test_get_matches_schema[GET /Images/1/Color]"


def run_session(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", *[str(ROOT / s) for s in SUBSET], str(where / "test_features.py")]
    cmd += ["--rootdir", str(ROOT), "-p", "no:cacheprovider", "-q", "--bview-report-dir", str(where / "reports")]
    return subprocess.run(cmd + list(args), cwd=where, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("runs")
    (where / "test_features.py").write_text(FEATURES)
    good = run_session(where, "--bview-sim-firmware", "1.0")
    assert good.returncode == 0, good.stdout[-3000:]
    faulty = run_session(
        where,
        "--bview-sim-firmware",
        "1.1",
        *[a for f in FAULTS_1_1 for a in ("--bview-sim-fault", f)],
        f"--junitxml={where / 'pytest-junit.xml'}",
    )
    assert faulty.returncode == 1, faulty.stdout[-3000:]
    model = where / "reports" / "BV-IPC2-5MP"
    (run_a,) = (model / "1.0").iterdir()
    (run_b,) = (model / "1.1").iterdir()
    return {"where": where, "a": run_a, "b": run_b, "stdout_b": faulty.stdout}  # type: ignore[dict-item]


def results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def test_layout_of_a_run(runs: dict[str, Path]) -> None:
    reports = runs["where"] / "reports"
    for run in (runs["a"], runs["b"]):
        assert run.parent.parent.name == "BV-IPC2-5MP"
        assert len(run.name) == len("20240101T000000Z") and run.name.endswith("Z")
        assert {p.name for p in run.iterdir()} >= {"report.html", "results.json", "junit.xml", "declaration.html"}
    assert (reports / "index.html").is_file()
    assert "bview: report " in runs["stdout_b"] and "report written in" in runs["stdout_b"]


def test_results_json_content(runs: dict[str, Path]) -> None:
    doc = results(runs["b"])
    assert doc["tool"]["version"] and doc["identity"]["SoftWareVersion"] == "1.1"
    if (ROOT / "pytest_bview" / "restore.py").exists():  # issue 3's verdict line, read from its stash
        assert doc["restore"].startswith("device state restored: ")
    assert doc["identity"]["MacAddress"]
    assert "password" not in doc["options"] and doc["options"]["sim_fault"] == list(FAULTS_1_1)
    tests = {t["id"]: t for t in doc["tests"]}
    color = tests["suites/test_config.py::test_round_trip[PUT /Images/1/Color]"]
    assert color["verdict"] == "pass" and color["resource"] == "/Images/{ChannelID}/Color" and color["method"] == "PUT"
    assert tests[COLOR_SCHEMA]["section"] == "9.6.1.3" and tests[COLOR_SCHEMA]["verdict"] == "fail"
    assert tests["::test_two_way_audio"]["verdict"] == "not supported"  # outside the rootdir
    assert all(t["duration"] >= 0 and t["section"] for t in doc["tests"])
    assert doc["counts"]["fail"] == sum(t["verdict"] == "fail" for t in doc["tests"]) >= 2
    assert set(doc["files"]) == {"report.html", "junit.xml", "declaration.html"}
    assert doc["latency"]["GET /Images/{ChannelID}/Color"]["n"] >= 1
    assert "Color/Hue" not in doc["shapes"]["/Images/{ChannelID}/Color"]["paths"]
    assert "Color/Hue" in results(runs["a"])["shapes"]["/Images/{ChannelID}/Color"]["paths"]


def test_evidence_of_a_failed_check(runs: dict[str, Path]) -> None:
    doc = results(runs["b"])
    failed = next(t for t in doc["tests"] if t["id"] == COLOR_SCHEMA)
    ex = failed["evidence"]["exchanges"][-1]
    assert ex["request"] == "GET /Images/1/Color" and ex["request_headers"]["Authorization"] == "****"
    # as the camera sent it (its elements on one line), not re-indented
    assert "<Color" in ex["response_body"] and "><Mode>" in ex["response_body"] and "\n  <" not in ex["response_body"]
    assert ex["curl"].startswith("curl ") and "admin:****" in ex["curl"]
    html = (runs["b"] / "report.html").read_text()
    assert "Reproduce with:" in html and "GET /Images/1/Color" in html and "&lt;Color" in html
    assert "&gt;&lt;Mode&gt;" in html  # escaped, raw
    junit = (runs["b"] / "junit.xml").read_text()
    assert "<failure" in junit and "Reproduce with: curl" in junit


def test_junit_validates_against_jenkins_junit_10(runs: dict[str, Path]) -> None:
    """The run's junit.xml (and pytest's own --junitxml of a kit run) validate against Jenkins' junit-10.xsd."""
    import xml.etree.ElementTree as ET

    import xmlschema

    schema = xmlschema.XMLSchema(str(ROOT / "tests" / "junit-10.xsd"))
    for path in (runs["a"] / "junit.xml", runs["b"] / "junit.xml", runs["where"] / "pytest-junit.xml"):
        errors = [str(e.reason) for e in schema.iter_errors(str(path))][:5]
        assert not errors, f"{path.name}: {errors}"
    junit = ET.parse(runs["b"] / "junit.xml").getroot()
    color = next(c for c in junit.iter("testcase") if c.get("name") == COLOR_SCHEMA.partition("::")[2])
    assert color.findtext("system-out") == "spec section: 9.6.1.3\nverdict: fail"
    # what the schema refuses (and older reports wrote): properties inside a testcase
    ET.SubElement(ET.SubElement(color, "properties"), "property", name="verdict", value="fail")
    assert not schema.is_valid(ET.tostring(junit, encoding="unicode"))


def test_matrix_and_sections_in_report(runs: dict[str, Path]) -> None:
    html = (runs["b"] / "report.html").read_text()
    assert 'id="device"' in html and "BV2A00012345" in html
    matrix = html[html.index('id="matrix"') : html.index("</table>", html.index('id="matrix"'))]
    assert matrix.count("<tr>") == 82  # 81 resources of chapter 9 and the head
    row = matrix[matrix.index("<td>/Images/{ChannelID}/Color</td>") :].split("</tr>")[0]
    assert 'class="fail"' in row and "1 fail" in row and "1 pass" in row
    assert 'id="sections"' in html and "conformance" in html and 'id="latency-chart"' in html
    # self-contained: no script, no stylesheet link, every embedded source is a data: URI
    assert "<script" not in html and "<link" not in html
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', html))


def test_index_lists_every_run(runs: dict[str, Path]) -> None:
    html = (runs["where"] / "reports" / "index.html").read_text()
    for run in (runs["a"], runs["b"]):
        rel = run.relative_to(runs["where"] / "reports").as_posix()
        assert f'href="{rel}/report.html"' in html
    assert ">1.0<" in html and ">1.1<" in html and "not supported" in html


def test_diff_of_real_runs(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert report_cli(["diff", str(runs["a"]), str(runs["b"])]) == 1
    out = capsys.readouterr().out
    assert f"REGRESSION: {COLOR_SCHEMA}: pass -> fail" in out
    assert f"REGRESSION: {MALFORMED}" in out  # a test or its parametrized cases
    assert "newly unsupported: ::test_two_way_audio: pass -> not supported" in out
    assert "API shape of /Images/{ChannelID}/Color: removed Color/Hue" in out
    assert report_cli(["diff", str(runs["b"]), str(runs["b"])]) == 0
    assert report_cli(["diff", str(runs["b"]), str(runs["where"] / "nowhere")]) == 2
    reverse = report_cli(["diff", str(runs["b"]), str(runs["a"])])
    assert reverse == 0 and "fixed: " + COLOR_SCHEMA in capsys.readouterr().out
    # the newer report carries the diff against the older run of the same model
    doc = results(runs["b"])
    assert doc["diff"]["older"] == runs["a"].relative_to(runs["where"] / "reports").as_posix()
    assert 'id="diff"' in (runs["b"] / "report.html").read_text()


def test_verify_detects_tampering(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    assert report_cli(["verify", str(runs["a"])]) == 0
    for name, change in (
        ("report.html", lambda t: t.replace("conformance", "conformity", 1)),
        ("results.json", lambda t: t.replace('"verdict": "fail"', '"verdict": "pass"', 1)),
        ("junit.xml", lambda t: t + " "),
    ):
        copy = tmp_path / name
        shutil.copytree(runs["b"], copy)
        (copy / name).write_text(change((copy / name).read_text()))
        assert report_cli(["verify", str(copy)]) == 1, name
        assert "problem:" in capsys.readouterr().out
    gone = tmp_path / "gone"
    shutil.copytree(runs["b"], gone)
    (gone / "junit.xml").unlink()
    assert report_cli(["verify", str(gone)]) == 1
    assert "junit.xml is missing" in capsys.readouterr().out


def test_expectations_waive_and_flag(runs: dict[str, Path]) -> None:
    where = runs["where"] / "expect"
    where.mkdir()
    (where / "test_features.py").write_text(FEATURES)
    faults = [a for f in FAULTS_1_1 for a in ("--bview-sim-fault", f)]
    file = where / "expected.toml"
    base = run_session(
        where, "--bview-sim-firmware", "1.1", *faults, "--bview-expectations", str(file), "--bview-update-expectations"
    )
    assert base.returncode == 1 and "expectations written to" in base.stdout
    baseline = Expectations.load(file)
    assert COLOR_SCHEMA in {e.test for e in baseline.entries}
    assert any(e.test.startswith(MALFORMED) for e in baseline.entries)
    # a known deviation with its tracking link, and a check the file wrongly expects to fail
    text = file.read_text().replace(
        'reason = "baseline: failing when the baseline was taken"\n',
        'reason = "Hue missing"\nlink = "https://tracker.example/BV-7"\n',
        1,
    )
    text += '[[expect]]\nmodel = "BV-*"\nfirmware = ">=1.0, <2"\ntest = "test_schema.py::test_get_matches_schema[GET /System/DeviceInfo]"\nverdict = "fail"\n'
    file.write_text(text)
    again = run_session(where, "--bview-sim-firmware", "1.1", *faults, "--bview-expectations", str(file))
    assert again.returncode == 0, again.stdout[-2000:]  # only known deviations: CI passes
    assert (
        "unexpected pass (expectations say fail): suites/test_schema.py::test_get_matches_schema[GET /System/DeviceInfo]"
        in again.stdout
    )
    run = sorted((where / "reports" / "BV-IPC2-5MP" / "1.1").iterdir())[-1]
    doc = results(run)
    tests = {t["id"]: t for t in doc["tests"]}
    assert doc["counts"]["fail"] == 0 and doc["counts"]["waived"] >= 2
    assert tests[COLOR_SCHEMA]["verdict"] == "waived" and tests[COLOR_SCHEMA]["evidence"]["exchanges"]
    assert "unexpected pass" in tests["suites/test_schema.py::test_get_matches_schema[GET /System/DeviceInfo]"]["flags"]
    html = (run / "report.html").read_text()
    assert "Waived (known deviations" in html and "https://tracker.example/BV-7" in html
    # a fixed firmware drops the entries it fixed from the baseline
    fixed = run_session(
        where, "--bview-sim-firmware", "1.1", "--bview-expectations", str(file), "--bview-update-expectations"
    )
    assert fixed.returncode == 0
    assert not [
        e for e in Expectations.load(file).entries if e.applies("BV-IPC2-5MP", "1.1") and e.test.startswith(MALFORMED)
    ]


def test_firmware_ranges() -> None:
    assert firmware_matches("1.1", "*") and firmware_matches("1.1.3", "1.1.*")
    assert firmware_matches("1.10", ">=1.2, <2") and not firmware_matches("2.0", ">=1.2, <2")
    assert firmware_matches("1.1", "1.1") and not firmware_matches("1.1", "1.2")


def test_no_password_in_any_artefact(pytester: pytest.Pytester) -> None:
    """A distinctive password: not in any file of the run, nor its Basic token, not even from -l or a message."""
    secret = "Pw-Zebra-4711-never-written"
    token = base64.b64encode(f"admin:{secret}".encode()).decode()
    pytester.makepyfile(
        test_leaky="""
        import base64
        import pytest
        from pytest_bview.checks import check_status

        @pytest.mark.reversible
        def test_rejects_brightness(bview):
            ex = bview.client.put("/Images/1/Color", "<Color><Mode>manual</Mode><Brightness>50</Brightness></Color>")
            check_status(ex, -5, "9.6.1.3", "deliberately wrong expectation")

        @pytest.mark.readonly
        def test_own_basic_header(bview):
            token = base64.b64encode(f"admin:{bview.password}".encode()).decode()
            ex = bview.client.request("GET", "/System/DeviceInfo", auth=None, headers={"Authorization": "Basic " + token})
            assert ex.status == 500, "answered " + str(ex.status) + " to " + token

        @pytest.mark.readonly
        def test_message_with_password(bview):
            secret = bview.password
            assert secret == "x", f"the password is {secret}"
        """
    )
    with CameraThread(time_scale=0.01) as cam:
        users = cam.camera.device.store.get("/System/Users")
        users["User"][0]["Password"] = secret
        cam.camera.device.store.commit(resources={"/System/Users": users})
        result = pytester.runpytest_inprocess(
            "-l", "--bview-host", "127.0.0.1", "--bview-port", str(cam.ports["http"]),
            "--bview-password", secret, "--bview-time-scale", "0.01", "--bview-expectations", "exp.toml",
            "--bview-update-expectations",
        )  # fmt: skip
    result.assert_outcomes(failed=3)
    files = [p for p in (pytester.path / "reports").rglob("*") if p.is_file()] + [pytester.path / "exp.toml"]
    assert len(files) >= 6
    for path in files:
        data = path.read_bytes()
        assert secret.encode() not in data and token.encode() not in data, f"{path} leaks the password"
    doc = json.loads(next((pytester.path / "reports").rglob("results.json")).read_text())
    assert doc["counts"]["fail"] == 3 and "--bview-password" in doc["options"]["args"]


def test_report_writing_is_quiet_without_camera(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_x():\n    assert True\n")
    pytester.runpytest_inprocess().assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()


def test_percentiles_and_redactor() -> None:
    p = m.percentiles([float(x) for x in range(1, 101)])
    assert p == {"n": 100, "p50": 50.0, "p95": 95.0, "max": 100.0}
    r = m.Redactor("admin", "hunter22")
    assert r.scrub({"a": ["x hunter22 y"]}) == {"a": ["x **** y"]}
    assert m.Redactor("admin", "admin").text("admin:admin") == "admin:admin"  # cannot be told apart


def test_health_gate_turns_a_dead_device_into_inconclusive(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_dies="""
        import pytest

        @pytest.mark.system
        def test_first(bview):
            bview.read("/System/DeviceInfo")

        @pytest.mark.system
        def test_camera_dies(bview):
            sim, bview.sim = bview.sim, None
            sim.stop()

        @pytest.mark.images
        @pytest.mark.parametrize("n", range(3))
        def test_after(bview, n):
            bview.read("/Images/1/Color")
        """
    )
    result = pytester.runpytest_inprocess("-rs")
    result.assert_outcomes(passed=2, skipped=3)
    result.stdout.fnmatch_lines(
        ["*bview: health: device unhealthy*", "*inconclusive: device unhealthy before area 'images'*"]
    )
    doc = json.loads(next((pytester.path / "reports").rglob("results.json")).read_text())
    assert doc["counts"]["inconclusive"] == 3 and doc["counts"]["fail"] == 0
    assert "test_after[0]" in doc["health"][0]["test"]


def test_shape_diff_finds_renames_and_namespaces() -> None:
    from pytest_bview.report.diff import shape_change

    old = {"paths": ["Color", "Color/Brightness", "Color/Hue"], "namespaces": ["urn:a"], "values": {"Color/Hue": "50"}}
    new = {"paths": ["Color", "Color/brightness", "Color/Tint"], "namespaces": ["urn:b"], "values": {}}
    change = shape_change("/Images/{ChannelID}/Color", old, new)
    assert change is not None
    assert ("Color/Brightness", "Color/brightness") in change["renamed"]
    assert change["namespaces_added"] == ["urn:b"] and change["namespaces_removed"] == ["urn:a"]
    assert shape_change("/x", old, old) is None


_STARTED = iter(range(10, 60))


def _run_of(serial: str, level: str, tests: list[str], firmware: str = "2.0.0") -> m.Run:
    identity = {"DeviceTypeName": "BV-IPC2-5MP", "SerialNum": serial, "SoftWareVersion": firmware}
    started = f"2026-11-25T10:00:{next(_STARTED):02d}Z"  # run directories are named by the second
    return m.Run(identity, [m.TestResult(t, verdict="pass") for t in tests], options={"level": level}, started=started)


def test_baseline_is_the_same_unit_level_and_tests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A full run after an `-m images` run once reported "593 tests new, 0 regressions": the baseline is
    the previous run of the same serial, level and tests, and any other choice says why."""
    from pytest_bview.report.runs import write_run

    full, images = [f"t{i}" for i in range(6)], ["t0", "t1"]
    redactor = m.Redactor("admin", None)

    def write(run: m.Run) -> m.Run:
        return write_run(run, tmp_path, redactor).run

    first_full = write(_run_of("S1", "reversible", full))
    write(_run_of("S1", "reversible", images))  # newer, but another selection
    write(_run_of("S2", "reversible", full))  # newer, but another unit
    write(_run_of("S1", "readonly", full))  # newer, but another level
    now = write(_run_of("S1", "reversible", full, firmware="2.0.1"))
    assert now.diff is not None and now.diff["older"] == first_full.path and not now.diff["basis"]
    assert now.diff["added_tests"] == []

    alone = tmp_path / "alone"
    write_run(_run_of("S9", "reversible", images), alone, redactor)
    other = write_run(_run_of("S9", "reversible", full), alone, redactor).run
    assert other.diff is not None and "another selection (2 tests, 2 in common with this run's 6" in other.diff["basis"]
    assert "Baseline:" in (alone / other.path / "report.html").read_text()
    first = next(p for p in (alone / "BV-IPC2-5MP" / "2.0.0").iterdir() if p.name != Path(other.path).name)
    assert report_cli(["diff", str(first), str(alone / other.path)]) == 0
    assert "baseline: RUN_A is another selection (2 tests" in capsys.readouterr().out


def test_expectations_carry_to_the_next_build_and_end_where_fixed() -> None:
    """Expectations written by --bview-update-expectations once named one exact firmware, so the next
    build showed every waived failure again."""
    from pytest_bview.report.expectations import Expectation

    test = "suites/test_schema.py::test_get_matches_schema[GET /Images/1/Color]"
    first = Expectations([], None).updated("BV-IPC2-5MP", "2.0.1", {test: "fail"})
    (entry,) = first.entries
    assert entry.firmware == ">=2.0.1, <3"
    assert first.lookup("BV-IPC2-5MP", "2.0.2", test) is not None  # the next build: still waived
    assert first.lookup("BV-IPC2-5MP", "3.0", test) is None and first.lookup("BV-IPC2-5MP", "2.0.0", test) is None
    fixed = first.updated("BV-IPC2-5MP", "2.0.4", {test: "pass"})
    assert [e.firmware for e in fixed.entries] == [">=2.0.1, <2.0.4"]  # still true of the builds before
    assert fixed.lookup("BV-IPC2-5MP", "2.0.3", test) is not None and fixed.lookup("BV-IPC2-5MP", "2.0.4", test) is None
    exact = Expectations([Expectation("BV-IPC2-5MP", "2.0.4", test)], None)
    assert exact.updated("BV-IPC2-5MP", "2.0.4", {test: "pass"}).entries == []
    assert Expectations([], None).updated("BV-X", "beta", {test: "fail"}).entries[0].firmware == "beta"


def test_ports_the_kit_picked_are_not_api_shape() -> None:
    """The built-in camera's random ports showed as two "API shape" changes in every diff."""
    from pytest_bview.report.hooks import KIT_PICKED, Local, _absorb_shapes

    body = b"<Port><HTTP>41777</HTTP><RTP>36263</RTP><HTTPS>443</HTTPS></Port>"
    ex = type("Ex", (), {"method": "GET", "status": 200, "body": body, "truncated": False, "path": "/Network/Port"})
    target = type("T", (), {"identity": {"SerialNum": "S"}, "picked_ports": frozenset({"41777", "36263"})})
    local = Local()
    _absorb_shapes(local, target, [ex])
    (values,) = [v["values"] for v in next(iter(local.shapes.values())).values()]
    assert values == {"Port/HTTP": KIT_PICKED, "Port/RTP": KIT_PICKED, "Port/HTTPS": "443"}


def test_first_read_values_are_taken_before_the_run_writes_the_resource() -> None:
    """Seen between two real-timing runs of one camera, whose checks ran in another order: "3 API-shape changes",
    the DNS and e-mail values /Network showed after the run's own writes, and the log's newest entry."""
    from pytest_bview.report.hooks import Local, _absorb_shapes

    def ex(method: str, path: str, body: bytes = b"") -> Any:
        return type("Ex", (), {"method": method, "status": 200, "body": body, "truncated": False, "path": path})

    dns = b"<DNS><PrimaryDNS>192.0.2.1</PrimaryDNS></DNS>"
    network = b"<Network><EMail><SMTPServer>smtp.example.org</SMTPServer></EMail></Network>"
    log = b"<LogList><Log><ID>2657</ID></Log></LogList>"
    target = type("T", (), {"identity": {"SerialNum": "S"}, "picked_ports": frozenset()})
    local = Local()
    _absorb_shapes(
        local,
        target,
        [
            ex("GET", "/Network/Interfaces/1/IPAddress/DNS", dns),  # before any write: the device's own
            ex("PUT", "/Network/EMail"),
            ex("GET", "/Network", network),  # holds the part the run wrote
            ex("GET", "/System/Logging?majorType=8", log),  # a run-time block
            ex("GET", "/Images/10/Color", b"<Color><Hue>50</Hue></Color>"),
            ex("PUT", "/Images/1/Color"),  # another channel: /Images/10 is not its part
        ],
    )
    book = next(iter(local.shapes.values()))
    assert book["/Network/Interfaces/{NetworkCardID}/IPAddress/DNS"]["values"] == {"DNS/PrimaryDNS": "192.0.2.1"}
    assert book["/Network"]["values"] == {} and book["/Network"]["paths"]  # the shape is kept, the values not
    assert book["/System/Logging"]["values"] == {}
    assert book["/Images/{ChannelID}/Color"]["values"] == {"Color/Hue": "50"}
