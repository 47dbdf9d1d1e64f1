"""Verdicts beyond pass and fail, as a test states them and as the report counts them.

Rule 1: "not supported" means the device says it lacks the feature (DeviceInfo TwoWayAudio false, no
        wireless interface, no disk, no PTZ); "inconclusive" means the check could not run (timeout,
        unhealthy device). Neither is a failure; both are pytest skips whose reason starts with the
        verdict and a colon, so they survive xdist and any other pytest plugin unchanged.
Rule 2: "waived" is a failure the expectations file (--bview-expectations) lists for this model and
        firmware; it shows like an xfail. Everything else skipped is "not run" (tier, -k, ...).
Rule 3: "advisory" is a failure of a SHOULD- or MAY-level rule (pytest_bview/spec/rules.py): it shows like
        an xfail whose reason starts with "advisory:", never fails the run nor blocks the declaration;
        --bview-strict makes it a failure. A SECURITY rule (a security advisory beyond the spec) is an
        advisory whatever --bview-strict says: the spec allows what it finds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import pytest

PASS = "pass"
FAIL = "fail"
WAIVED = "waived"
ADVISORY = "advisory"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
NOT_RUN = "not run"
VERDICTS = (PASS, FAIL, WAIVED, ADVISORY, NOT_SUPPORTED, INCONCLUSIVE, NOT_RUN)
# What a group of tests (a run, a spec section, a matrix cell, a fleet area) shows: its first verdict here.
# Inconclusive outranks pass (part of it is unknown); not supported does not (the device said so).
WORST_FIRST = (FAIL, WAIVED, ADVISORY, INCONCLUSIVE, PASS, NOT_SUPPORTED, NOT_RUN)


def worst(counts: dict[str, int]) -> str:
    """The verdict a group of tests with these verdict counts shows (WORST_FIRST)."""
    return next((v for v in WORST_FIRST if counts.get(v)), NOT_RUN)


if TYPE_CHECKING:
    from pytest_bview.spec.rules import Rule


def advisory_rule(exc: BaseException | None, strict: bool) -> Rule | None:
    """The SHOULD/MAY/SECURITY rule (spec/rules.py) whose failure `exc` is, when that makes it an advisory
    (Rule 3)."""
    finding = getattr(exc, "finding", None)
    rule_id = getattr(finding, "rule", None)
    if not rule_id:
        return None
    from pytest_bview.spec.rules import rule

    found = rule(rule_id)
    if strict and not found.security:
        return None
    return found if found.advisory else None


def not_supported(reason: str) -> NoReturn:
    """End the test: the device says it lacks this feature (not a failure)."""
    pytest.skip(f"{NOT_SUPPORTED}: {reason}")


def inconclusive(reason: str) -> NoReturn:
    """End the test: the check could not run (not a failure, not a pass)."""
    pytest.skip(f"{INCONCLUSIVE}: {reason}")


def from_skip(reason: str) -> tuple[str, str]:
    """(verdict, reason) of a skip reason, e.g. "not supported: no PTZ" -> ("not supported", "no PTZ")."""
    text = reason.strip()
    if text.startswith("Skipped: "):
        text = text[len("Skipped: ") :]
    for verdict in (NOT_SUPPORTED, INCONCLUSIVE):
        if text.lower().startswith(verdict + ":"):
            return verdict, text[len(verdict) + 1 :].strip()
    return NOT_RUN, text


def of_report(report: pytest.TestReport) -> str | None:
    """The verdict one phase report gives its test, or None when the phase says nothing new."""
    if hasattr(report, "wasxfail"):
        if report.skipped:  # an advisory shows like an xfail whose reason starts with "advisory:" (Rule 3)
            return ADVISORY if str(report.wasxfail).startswith(ADVISORY) else WAIVED
        return FAIL  # an xpass under xfail_strict fails
    if report.failed:
        return FAIL
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return from_skip(reason)[0]
    if report.when == "call":
        return PASS
    return None
