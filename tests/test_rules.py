"""The rule table (pytest_bview/spec/rules.py) and the verdicts its levels drive: a failed SHOULD is an advisory."""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_bview.spec.rules import RULES, UnknownRule, checks_by_rule, rule

ROOT = Path(__file__).resolve().parents[1]
SPEC_TEXT = ROOT.parent / "shared" / "spec" / "bview2-rest-api-spec.txt"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.mark.skipif(not SPEC_TEXT.exists(), reason="the spec text is not beside the repository")
@pytest.mark.parametrize("rule_id", list(RULES))
def test_words_stand_at_their_line(rule_id: str) -> None:
    """Each rule quotes the spec: its first words stand on its line (quotes and dashes aside)."""
    r = RULES[rule_id]
    lines = SPEC_TEXT.read_text("utf-8", "replace").splitlines()
    near = _words(" ".join(lines[r.line - 1 : r.line + 1]))
    first = next((w[:4] for seg in re.split(r"\.\.\.|'|\(|<", r.words) if len(w := _words(seg)) >= 2), [])
    assert first, r
    joined = " ".join(near)
    assert " ".join(first) in joined, f"{r.id}: {first} not at spec line {r.line}: {joined[:200]}"


def test_levels_and_ids() -> None:
    for r in RULES.values():
        assert r.level in ("MUST", "SHOULD", "MAY", "ERRATA", "SECURITY"), r
        assert bool(r.provision) == (r.level == "SECURITY"), f"{r.id}: a security advisory names its provision"
        assert re.fullmatch(r"[a-z0-9-]+", r.id), r
        assert re.fullmatch(r"\d+(\.\d+)*", r.section), r
    with pytest.raises(UnknownRule):
        rule("no-such-rule")


def _rule_kwargs(fn: ast.FunctionDef) -> set[str]:
    return {
        kw.value.value
        for node in ast.walk(fn)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "rule" and isinstance(kw.value, ast.Constant)
    }


def test_checks_name_declared_rules() -> None:
    """Every rule a check names exists, and a finding's rule is one its check declares with bview_rule."""
    declared = checks_by_rule(ROOT)
    assert set(declared) <= set(RULES), set(declared) - set(RULES)
    named = {c: {r for r, cs in declared.items() if c in cs} for cs in declared.values() for c in cs}
    for module in sorted((ROOT / "suites").glob("test_*.py")):
        for node in ast.parse(module.read_text("utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                used = _rule_kwargs(node)
                check = f"suites/{module.name}::{node.name}"
                assert used <= named.get(check, set()), (
                    f"{check} raises findings of {used} but names {named.get(check)}"
                )


def test_published_rules_are_current() -> None:
    from pytest_bview.spec.rules import _main

    assert _main(["--check"]) == 0, "python -m pytest_bview.spec.rules --markdown > docs/RULES.md"


ADVISORY_RUN = ("suites/test_protocol.py::test_persistent_connection", "suites/test_protocol.py::test_unknown_url")


def _run(pytester: pytest.Pytester, tmp_path: Path, *extra: str) -> tuple[pytest.RunResult, dict, ET.Element]:
    reports = tmp_path / "reports"
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest_inprocess(
        *[str(ROOT / c) for c in ADVISORY_RUN],
        f"--rootdir={ROOT}",
        "--bview-sim-fault",
        "http-no-keepalive",
        f"--bview-report-dir={reports}",
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    results = json.loads(next(reports.rglob("results.json")).read_text("utf-8"))
    return result, results, ET.parse(junit).getroot()


def test_failed_should_is_an_advisory(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """4.5.1 "should support persistent connections": a camera closing every connection gets an advisory, shown in
    the console, results.json, the report, the declaration and junit; the run passes."""
    result, results, junit = _run(pytester, tmp_path)
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*1 advisories*", "ADVISORY *test_persistent_connection - http-persistent (SHOULD*"])
    verdicts = {t["id"]: t["verdict"] for t in results["tests"]}
    assert verdicts["suites/test_protocol.py::test_persistent_connection"] == "advisory"
    assert results["counts"]["advisory"] == 1 and results["counts"]["fail"] == 0
    assert results["conformance"] == 100.0
    run_dir = next((tmp_path / "reports").rglob("results.json")).parent
    assert "Advisories" in (run_dir / "report.html").read_text("utf-8")
    declaration = (run_dir / "declaration.html").read_text("utf-8")
    assert "does not conform" not in declaration and "http-persistent" in declaration
    case = next(c for c in junit.iter("testcase") if c.get("name") == "test_persistent_connection")
    skipped = case.find("skipped")
    assert skipped is not None and "advisory: http-persistent" in (skipped.get("message") or "")


def test_strict_turns_advisories_into_failures(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result, results, _ = _run(pytester, tmp_path, "--bview-strict")
    assert result.ret == 1
    verdicts = {t["id"]: t["verdict"] for t in results["tests"]}
    assert verdicts["suites/test_protocol.py::test_persistent_connection"] == "fail"


def test_strict_from_environment(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BVIEW_STRICT", "1")
    result, _, _ = _run(pytester, tmp_path)
    assert result.ret == 1


@pytest.mark.parametrize("variant", ["text-xml", "xml-namespace-prefix", "xml-namespace-none"])
def test_content_type_and_namespace_freedoms_pass(pytester: pytest.Pytester, tmp_path: Path, variant: str) -> None:
    """4.5.3 "may be designated as ... etc.": text/xml; charset=UTF-8 passes (not even an advisory); ERRATA L1: a
    prefixed or absent namespace passes the schema checks."""
    result = pytester.runpytest_inprocess(
        str(ROOT / "suites/test_protocol.py::test_xml_content_type"),
        str(ROOT / "suites/test_schema.py::test_get_matches_schema"),
        f"--rootdir={ROOT}",
        "--bview-sim-variant",
        variant,
        f"--bview-report-dir={tmp_path / 'reports'}",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 10 and not outcomes.get("xfailed"), outcomes


def test_security_advisory_never_fails(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A security advisory (a SECURITY rule, beyond the spec) stays an advisory under --bview-strict, and has its
    own section in the report, results.json and the declaration; the run passes."""
    reports = tmp_path / "reports"
    check = "suites/test_security_advisories.py::test_factory_credentials_refused"
    result = pytester.runpytest_inprocess(
        str(ROOT / check),
        f"--rootdir={ROOT}",
        "--bview-sim-fault",
        "sec-factory-credentials-kept",
        "--bview-password",
        "Own-Pw-4711",
        "--bview-strict",
        f"--bview-report-dir={reports}",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["ADVISORY *test_factory_credentials_refused - sec-factory-credentials (SECURITY*"])
    path = next(reports.rglob("results.json"))
    results = json.loads(path.read_text("utf-8"))
    assert results["counts"]["advisory"] == 1 and results["counts"]["fail"] == 0
    (entry,) = results["security_advisories"]
    assert entry["id"] == check and entry["rule"] == "sec-factory-credentials" and "5.1-1" in entry["provision"]
    html = (path.parent / "report.html").read_text("utf-8")
    assert 'id="security-advisories"' in html and "ETSI EN 303 645 5.1-1" in html
    assert 'id="advisories"' not in html  # not among the SHOULD/MAY advisories
    assert "Own-Pw-4711" not in html and "Own-Pw-4711" not in path.read_text("utf-8")
    declaration = (path.parent / "declaration.html").read_text("utf-8")
    assert "does not conform" not in declaration and "sec-factory-credentials (ETSI" in declaration


def test_hardened_camera_gives_no_security_advisory(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The reference camera (no fault), with a password of its own: the security area passes, no advisory."""
    result = pytester.runpytest_inprocess(
        str(ROOT / "suites/test_security_advisories.py"),
        f"--rootdir={ROOT}",
        "--bview-password",
        "Own-Pw-4711",
        f"--bview-report-dir={tmp_path / 'reports'}",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 2 and not outcomes.get("xfailed"), outcomes


def test_a_shown_password_is_a_failure_where_the_spec_says_so_plainly(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """6.1.2 says write-only fields "should never" be returned (an advisory), but 9.1.1.2, 9.1.3 and 9.1.6 say
    plainly that the DDNS, EMail and FTP passwords are not displayed: those are failures, strict or not."""
    check = "suites/test_schema.py::test_write_only_fields_absent"
    result = pytester.runpytest_inprocess(
        f"{ROOT / check}[GET /Network/DDNS/Config]",
        f"{ROOT / check}[GET /System/Users/1]",
        f"--rootdir={ROOT}",
        "--bview-sim-fault",
        "config-wo-field-returned",
        f"--bview-report-dir={tmp_path / 'reports'}",
        "-p",
        "no:cacheprovider",
    )
    results = json.loads(next((tmp_path / "reports").rglob("results.json")).read_text("utf-8"))
    verdicts = {t["id"]: (t["verdict"], t["rule"]) for t in results["tests"]}
    assert verdicts[f"{check}[GET /Network/DDNS/Config]"][0] == "fail", result.stdout.str()[-3000:]
    assert verdicts[f"{check}[GET /System/Users/1]"] == ("advisory", "wo-never-returned")
    assert result.ret == 1
