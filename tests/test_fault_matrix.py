"""Every check can fail: each fault profile of the reference camera is caught by the checks of the rule it breaks.

For each declared (non-hostile) fault, the checks naming the rule it breaks (pytest_bview/testing/matrix.py: the
join on rule ids; with the fault's cases, only those cases) are run against the built-in camera with that fault
switched on, and each of them (for a whole check, at least one of its parametrized cases) must fail; a check of a SECURITY rule (a security advisory beyond the spec) must instead
end in the advisory verdict, never a failure, even under --bview-strict. The conformant camera passing
everything is `pytest suites` itself.

Each fault's run is a whole pytest session with its own camera, CPU-bound and in-process (pytester), so
when many are selected the second half runs in one helper process (this module, the same test, in a
`pytest` of its own) while this process runs the first half: two cores, half the wall time. A test of
the second half here reports the helper's verdict on it (with its failure text), so every fault is
still judged by the assertions below, once.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from pytest_bview.simulator.catalog import load_all
from pytest_bview.simulator.faults import Fault
from pytest_bview.spec.rules import RULES, checks_by_rule
from pytest_bview.testing.matrix import checks_of, collected_suites, detected_by

ROOT = Path(__file__).resolve().parents[1]
# a rig fault needs a real network to be seen (a DHCP server): tests/test_network_identity_netns.py proves it
FAULTS = [f for f in load_all().values() if not f.hostile and not f.rig]
# Under a fault, a Hypothesis check fails at its first failing example; shrinking that example (hundreds of
# further PUT/GET rounds, minutes) only makes the report nicer, and the matrix asks only whether it failed.
NO_SHRINK = "bview-fault-matrix"
settings.register_profile(NO_SHRINK, phases=[p for p in Phase if p not in (Phase.shrink, Phase.explain)])


# checks of SECURITY rules: their verdict is an advisory, whatever --bview-strict says (spec/rules.py Rule 2)
SECURITY_CHECKS = frozenset(c for r, cs in checks_by_rule(ROOT).items() if RULES[r].security for c in cs)


def _security(check: str) -> bool:
    return check.split("[")[0] in SECURITY_CHECKS


HELPER_ENV = "PYTEST_BVIEW_MATRIX_HELPER"  # set in the helper process: it runs everything it is given itself
MIN_SHARED = 8  # fewer selected faults than this are not worth a second process (its start costs seconds)
HELPER_DEADLINE_S = 1800.0


def _detected_by(fault: Fault) -> tuple[str, ...]:
    """The test ids that must fail under `fault` (a fault with cases: the collected tests of those cases)."""
    return detected_by(fault, collected_suites(ROOT) if fault.cases else None, ROOT)


class Helper:
    """The helper process running a share of the matrix; verdicts are read from its JUnit XML at its end."""

    def __init__(self, names: set[str], workdir: Path) -> None:
        self.names = names
        self.xml = workdir / "helper.xml"
        self.log = workdir / "helper.log"
        self._verdicts: dict[str, tuple[str, str]] | None = None
        node_ids = [f"{Path(__file__).resolve()}::{name}" for name in sorted(names)]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pytest", *node_ids, f"--rootdir={ROOT}", "-p", "no:cacheprovider"]
                + ["-q", f"--junitxml={self.xml}"],
                cwd=ROOT,
                env={**os.environ, HELPER_ENV: "1"},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started = time.monotonic()

    def verdict(self, name: str) -> None:
        """Pass, fail or skip as the helper's run of test `name` did."""
        if self._verdicts is None:
            try:
                self.proc.wait(max(1.0, HELPER_DEADLINE_S - (time.monotonic() - self.started)))
            except subprocess.TimeoutExpired:
                self.stop()
                pytest.fail(f"the matrix's helper process ran over {HELPER_DEADLINE_S:.0f} s: {self._tail()}")
            self._verdicts = self._read()
        found = self._verdicts.get(name)
        if found is None:
            pytest.fail(
                f"the matrix's helper process did not report {name} (exit {self.proc.returncode}): {self._tail()}"
            )
        outcome, text = found
        if outcome == "skipped":
            pytest.skip(text)
        if outcome != "passed":
            pytest.fail(f"in the matrix's helper process, {outcome}:\n{text}", pytrace=False)

    def _read(self) -> dict[str, tuple[str, str]]:
        if not self.xml.exists():
            return {}
        out: dict[str, tuple[str, str]] = {}
        for case in ET.parse(self.xml).iter("testcase"):
            outcome, text = "passed", ""
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    outcome = {"failure": "failed"}.get(child.tag, child.tag)
                    text = "\n".join(t for t in (child.get("message"), child.text) if t)
                    if outcome != "skipped":
                        break  # a teardown error after a failure: the failure says more
            name = case.get("name", "")
            if out.get(name, ("passed", ""))[0] == "passed":  # a teardown error is a case of its own
                out[name] = (outcome, text)
        return out

    def _tail(self) -> str:
        return self.log.read_text("utf-8", "replace")[-3000:] if self.log.exists() else "(no output)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


@pytest.fixture(scope="module")
def helper(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helper | None]:
    """The helper process for the second half of the selected faults, or None (few selected; or this is the
    helper; or xdist already spreads the tests; or one core)."""
    items = [
        i
        for i in request.session.items
        if isinstance(i, pytest.Function) and i.module is request.module and i.originalname == "test_fault_is_detected"
    ]
    alone = os.environ.get(HELPER_ENV) or os.environ.get("PYTEST_XDIST_WORKER") or (os.cpu_count() or 1) < 2
    if alone or len(items) < MIN_SHARED:
        yield None
        return
    shared = Helper({i.name for i in items[len(items) // 2 :]}, tmp_path_factory.mktemp("fault-matrix-helper"))
    try:
        yield shared
    finally:
        shared.stop()


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_is_detected(
    pytester: pytest.Pytester, fault: Fault, helper: Helper | None, request: pytest.FixtureRequest
) -> None:
    if helper is not None and request.node.name in helper.names:
        helper.verdict(request.node.name)
        return
    ids = _detected_by(fault)
    if not ids:
        pytest.fail(f"fault {fault.name} breaks rule {fault.rule} {fault.cases or ''}, which no check of suites/ tests")
    args = [str(ROOT / d) for d in ids]
    if any(_security(d) for d in ids):
        # the camera's own password, not the factory one: the factory-credentials advisory can then be judged
        args += ["--bview-password", f"Pw-{secrets.token_hex(6)}"]
    previous = settings.get_current_profile_name()
    settings.load_profile(NO_SHRINK)
    try:
        rec = pytester.inline_run(
            *args,
            f"--rootdir={ROOT}",
            "--bview-sim-fault",
            fault.name,
            "--bview-level",
            "disruptive",
            "--bview-strict",  # a fault breaking a SHOULD rule is caught as an advisory; strict makes it a failure
            "-p",
            "no:cacheprovider",
            "-q",
        )
    finally:
        settings.load_profile(previous)
    failed = {r.nodeid for r in rec.getfailures() if r.when == "call"}
    errors = [r for r in rec.getfailures() if r.when != "call"]
    advised = {
        r.nodeid
        for r in rec.getreports("pytest_runtest_logreport")
        if r.when == "call" and str(getattr(r, "wasxfail", "")).startswith("advisory:")
    }
    assert not errors, f"setup/teardown errors under fault {fault.name}: {[r.nodeid for r in errors]}"

    def of(check: str, ids: set[str]) -> list[str]:
        return [n for n in ids if n == check or n.startswith(check + "[") or n.startswith(check + "::")]

    for check in ids:
        if _security(check):  # a security advisory: reported as such, never a failure (even with --bview-strict)
            assert of(check, advised) and not of(check, failed), (
                f"fault {fault.name} ({fault.section}: {fault.doc}) did not give the security advisory of {check}; "
                f"advisories: {sorted(advised) or 'none'}; failed: {sorted(failed) or 'nothing'}"
            )
            continue
        assert of(check, failed), (
            f"fault {fault.name} ({fault.section}: {fault.doc}) was not detected by {check}; "
            f"failed: {sorted(failed) or 'nothing'}"
        )


def test_every_fault_breaks_a_rule_the_suites_check() -> None:
    """The join of the matrix: each fault's rule is named by a check, and each of its case labels is a case of one."""
    assert FAULTS, "no fault profiles declared"
    collected = collected_suites(ROOT)
    for fault in [f for f in load_all().values() if not f.hostile]:
        assert fault.section, f"fault {fault.name} names no spec section"
        assert fault.rule in RULES, f"fault {fault.name} breaks no rule of spec/rules.py ({fault.rule!r})"
        assert checks_of(fault, ROOT), f"fault {fault.name}: no check names its rule {fault.rule}"
        found = detected_by(fault, collected, ROOT)
        for case in fault.cases:
            assert any(t.endswith(f"[{case}]") for t in found), (
                f"fault {fault.name}: no check of {fault.rule} has case {case!r}"
            )


def test_the_camera_names_no_check() -> None:
    """The camera knows the rules its faults break, never the suites' tests."""
    for module in (ROOT / "pytest_bview" / "simulator").glob("*.py"):
        text = module.read_text("utf-8")
        assert "suites/" not in text and "::test_" not in text, f"{module.name} names a check of suites/"


def test_published_matrix_is_current() -> None:
    """docs/FAULTS.md (profile -> spec section -> rule -> the checks of that rule, with counts) is generated."""
    from pytest_bview.testing.matrix import faults_markdown

    published = ROOT / "docs" / "FAULTS.md"
    assert published.exists() and published.read_text("utf-8") == faults_markdown(ROOT), (
        "docs/FAULTS.md is not the current matrix: python -m pytest_bview.testing.matrix --markdown"
    )
