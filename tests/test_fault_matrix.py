"""Every check can fail: each fault profile of the reference camera is caught by the checks it names.

For each declared (non-hostile) fault, the suites' tests it names are run against the built-in
camera with that fault switched on, and each named test (or, for a prefix, at least one of its
parametrized cases) must fail. The conformant camera passing everything is `pytest suites` itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_bview.simulator.faults import Fault, load_all

ROOT = Path(__file__).resolve().parents[1]
FAULTS = [f for f in load_all().values() if not f.hostile]


def _runnable(fault: Fault) -> bool:
    return all((ROOT / d.split("::")[0]).exists() for d in fault.detected_by)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_is_detected(pytester: pytest.Pytester, fault: Fault) -> None:
    if not _runnable(fault):
        pytest.fail(f"fault {fault.name} names checks that do not exist: {fault.detected_by}")
    args = [str(ROOT / d) for d in fault.detected_by]
    rec = pytester.inline_run(
        *args,
        f"--rootdir={ROOT}",
        "--bview-sim-fault",
        fault.name,
        "--bview-level",
        "disruptive",
        "-p",
        "no:cacheprovider",
        "-q",
    )
    failed = {r.nodeid for r in rec.getfailures() if r.when == "call"}
    errors = [r for r in rec.getfailures() if r.when != "call"]
    assert not errors, f"setup/teardown errors under fault {fault.name}: {[r.nodeid for r in errors]}"
    for check in fault.detected_by:
        hits = [n for n in failed if n == check or n.startswith(check + "[") or n.startswith(check + "::")]
        assert hits, (
            f"fault {fault.name} ({fault.section}: {fault.doc}) was not detected by {check}; "
            f"failed: {sorted(failed) or 'nothing'}"
        )


def test_every_fault_names_a_check() -> None:
    assert FAULTS, "no fault profiles declared"
    for fault in FAULTS:
        assert fault.detected_by, f"fault {fault.name} names no detecting check"
        assert fault.section, f"fault {fault.name} names no spec section"


def test_published_matrix_is_current() -> None:
    """docs/FAULTS.md (profile -> spec section -> detecting checks, with counts) is generated, never hand-written."""
    from pytest_bview.simulator.faults import markdown

    published = ROOT / "docs" / "FAULTS.md"
    assert published.exists() and published.read_text("utf-8") == markdown(ROOT), (
        "docs/FAULTS.md is not the current matrix: python -m pytest_bview.simulator.faults --markdown > docs/FAULTS.md"
    )
