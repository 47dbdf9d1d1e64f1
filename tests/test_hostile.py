"""The plugin survives a hostile camera (pytest_bview/simulator/hostile.py).

Each hostile profile runs the checks it names in a pytest subprocess against the built-in camera
(`--bview-sim-fault PROFILE --bview-timeout 1.5`), and:
- the session completes (exit status 1: tests failed; never an internal error or a hang) and, when
  the report package is present, writes its report;
- each named check has exactly one verdict: failed with a message naming the problem (or
  "inconclusive: ..." from the report's health gate), never an error, never a traceback through
  the kit or its libraries;
- each check ends within its deadline and the whole run within a bound;
- the process's peak memory stays within MEMORY_CAP of a conformant run of the same checks.

MEMORY_CAP: the client keeps at most `Client.max_body` (8 MiB) plus one 16 KiB read of any answer
and holds the body once; a test's evidence may hold a few such bodies, the MJPEG reader
`frames * max_part_bytes`. 64 MiB over the conformant run bounds all of it; a client reading a
1 GiB answer, an endless body or an endless MJPEG part to the end would exceed it.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_bview.client import Client
from pytest_bview.simulator import hostile
from pytest_bview.simulator.catalog import load_all
from pytest_bview.simulator.faults import Fault
from pytest_bview.testing.matrix import detected_by

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 1.5  # --bview-timeout of the hostile runs
MEMORY_CAP = 64 * 1024 * 1024  # bytes of peak RSS over the conformant run of the same checks
MAX_BODY = Client.__init__.__kwdefaults__["max_body"]
HOSTILE = [f for f in load_all().values() if f.hostile]
REPORTS = importlib.util.find_spec("pytest_bview.report.hooks") is not None

# What each profile's failure message must say (the problem named, not a symptom of the kit)
NAMED = {
    hostile.TRICKLE: r"no complete answer within 1\.5 s",
    hostile.ENDLESS: r"no complete answer within 1\.5 s",
    hostile.GIGABYTE_BODY: r"larger than the client's size cap",
    hostile.XML_BOMB: r"document type declaration or entities",
    hostile.XXE: r"document type declaration or entities",
    hostile.BAD_UTF8: r"not valid UTF-8",
    hostile.WRONG_LENGTH: r"closed 1000 bytes before the end of the body its Content-Length announced",
    hostile.RESET: r"reset the connection",
    hostile.REDIRECT_LOOP: r"HTTP 302.*redirect to http://127\.0\.0\.1:\d+/\S+: not followed",
    hostile.MJPEG_ENDLESS: r"ReceiveData: (no b'\\r\\n--frame' within \d+ bytes|deadline passed|more than \d+ bytes)",
}
# Frames of the kit or of its libraries in a failure text mean a traceback where a verdict belongs
INTERNAL = re.compile(r"Traceback \(most recent call last\)|site-packages|/lib/python3|pytest_bview/client\.py")

RSS_PROBE = """
import json, os, resource

def pytest_unconfigure(config):
    with open(os.environ["BVIEW_RSS_FILE"], "w") as f:
        json.dump({"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}, f)
"""


def _session(pytester: pytest.Pytester, tag: str, checks: tuple[str, ...], *extra: str) -> dict[str, Any]:
    """Run `checks` in a subprocess; return its exit status, wall time, peak RSS, junit cases, report dir."""
    pytester.makepyfile(bview_rss_probe=RSS_PROBE)
    rss_file, junit, reports = (pytester.path / f"{tag}.{x}" for x in ("rss.json", "junit.xml", "reports"))
    start = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BVIEW_RSS_FILE", str(rss_file))
        result = pytester.runpytest_subprocess(
            *(str(ROOT / c) for c in checks),
            f"--rootdir={ROOT}",
            "-p",
            "bview_rss_probe",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            f"--bview-report-dir={reports}",
            f"--bview-timeout={TIMEOUT}",
            *extra,
            timeout=120,
        )
    elapsed = time.monotonic() - start
    cases = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            cases[f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"] = case
    rss = json.loads(rss_file.read_text())["maxrss_kib"] * 1024 if rss_file.exists() else None
    return {"result": result, "elapsed": elapsed, "rss": rss, "cases": cases, "reports": reports}


@pytest.fixture(scope="module")
def baselines() -> dict[tuple[str, ...], dict[str, Any]]:
    return {}


def _baseline(pytester: pytest.Pytester, baselines: dict, checks: tuple[str, ...]) -> dict[str, Any]:
    """A conformant run of the same checks, once per module (its peak RSS is the memory reference)."""
    if checks not in baselines:
        run = _session(pytester, "baseline", checks)
        outcomes = run["result"].parseoutcomes()
        assert run["result"].ret == 0 and not outcomes.get("failed"), run["result"].stdout.str()[-3000:]
        baselines[checks] = run
    return baselines[checks]


def _verdict(case: ET.Element | None) -> str:
    if case is None:
        return "missing"
    kinds = [el.tag for el in case if el.tag in ("failure", "error", "skipped")]
    return f"{'/'.join(kinds) or 'pass'} in {float(case.get('time', 0)):.1f} s"


def _case(cases: dict, check: str) -> ET.Element | None:
    suffix = check.split("::", 1)[1]
    module = check.split("::", 1)[0].removesuffix(".py")
    for nodeid, case in cases.items():
        if nodeid.endswith(f"{module}.py::{suffix}"):
            return case
    return None


@pytest.mark.parametrize("fault", HOSTILE, ids=[f.name for f in HOSTILE])
def test_hostile_profile_ends_in_clear_verdicts(pytester: pytest.Pytester, baselines: dict, fault: Fault) -> None:
    assert fault.name in NAMED, f"hostile profile {fault.name} has no expected message in tests/test_hostile.py"
    base = _baseline(pytester, baselines, detected_by(fault))
    run = _session(pytester, fault.name, detected_by(fault), "--bview-sim-fault", fault.name)
    out = run["result"].stdout.str() + run["result"].stderr.str()

    # the session completes: tests failed, nothing crashed, nothing hung
    assert run["result"].ret == 1, f"{fault.name}: exit status {run['result'].ret}\n{out[-4000:]}"
    bound = 30 + len(detected_by(fault)) * 3 * TIMEOUT + 2 * base["elapsed"]  # generous: CI machines are loaded
    assert run["elapsed"] < bound, f"{fault.name}: session took {run['elapsed']:.1f} s (bound {bound:.1f} s)"

    # one clear verdict per check, within its deadline
    for check in detected_by(fault):
        case = _case(run["cases"], check)
        assert case is not None, f"{fault.name}: {check} did not run\n{out[-3000:]}"
        verdicts = [el for el in case if el.tag in ("failure", "error", "skipped")]
        assert [v.tag for v in verdicts] in (["failure"], ["skipped"]), (
            f"{fault.name}: {check} ended with {[v.tag for v in verdicts] or 'a pass'}\n{out[-3000:]}"
        )
        text = (verdicts[0].get("message") or "") + "\n" + (verdicts[0].text or "")
        if verdicts[0].tag == "skipped":
            assert "inconclusive:" in text, f"{fault.name}: {check} skipped without a verdict: {text[:500]}"
        else:
            assert re.search(NAMED[fault.name], text, re.S), (
                f"{fault.name}: the failure of {check} does not name the problem ({NAMED[fault.name]}):\n{text[:3000]}"
            )
        assert not INTERNAL.search(text), f"{fault.name}: {check} failed with a traceback:\n{text[:3000]}"
        assert float(case.get("time", 0)) < 4 * TIMEOUT + 10, f"{fault.name}: {check} took {case.get('time')} s"

    # memory stays bounded
    assert run["rss"] is not None and base["rss"] is not None
    grown = run["rss"] - base["rss"]
    verdicts = {c.split("::")[1]: f"{_verdict(_case(run['cases'], c))}" for c in detected_by(fault)}
    print(
        f"\nhostile {fault.name}: session {run['elapsed']:.1f} s (conformant {base['elapsed']:.1f} s), "
        f"peak RSS {run['rss'] / 2**20:.0f} MiB ({grown / 2**20:+.0f} MiB), verdicts {verdicts}"
    )
    assert grown < MEMORY_CAP, (
        f"{fault.name}: peak RSS {run['rss'] / 2**20:.0f} MiB, {grown / 2**20:.0f} MiB over the conformant run "
        f"(cap {MEMORY_CAP / 2**20:.0f} MiB; Client.max_body {MAX_BODY / 2**20:.0f} MiB)"
    )

    # the report is written
    if REPORTS:
        results = list(run["reports"].rglob("results.json"))
        assert results, f"{fault.name}: no report written under {run['reports']}\n{out[-2000:]}"
        verdicts = {t["id"]: t["verdict"] for t in json.loads(results[0].read_text())["tests"]}
        for check in detected_by(fault):
            got = [v for test_id, v in verdicts.items() if test_id.endswith(check.split("/", 1)[1])]
            assert got and got[0] in ("fail", "inconclusive"), f"{fault.name}: results.json says {got} for {check}"


def test_every_hostile_profile_is_declared_hostile_and_named() -> None:
    assert {f.name for f in HOSTILE} == set(NAMED), "NAMED and the hostile profiles disagree"
    for fault in HOSTILE:
        assert detected_by(fault) and fault.section, fault
