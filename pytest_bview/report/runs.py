"""Runs on disk: `<report dir>/<model>/<firmware>/<UTC timestamp>/` and `<report dir>/index.html`.

Rule 1: a run directory holds report.html, results.json, junit.xml and declaration.html; results.json
        carries the SHA-256 of every other file and a digest of its own content (verify.py).
Rule 2: everything written passes through the session's `Redactor` first: the password never lands
        on disk, whatever a test or a device put in a message.
Rule 3: the baseline of the report's diff is the newest older run of the same model and serial, at the same
        level, that ran the same tests (any firmware: that is what a regression is). When there is none,
        the closest older run of the model is used and the diff says plainly how it differs (`Diff.basis`).
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pytest_bview.report import model as m
from pytest_bview.report.diff import Diff, diff_runs
from pytest_bview.verdicts import ADVISORY, FAIL, NOT_RUN, PASS, WAIVED, from_skip

STAMP = "%Y%m%dT%H%M%SZ"
INDEX_CACHE = ".index-cache.json"  # run path -> summary, for index.html
BASELINE_CANDIDATES = 200  # older runs of a model read to find a baseline: bounds the time a report takes


@dataclass
class Written:
    run: m.Run
    directory: Path
    diff: Diff | None
    expectations: Path | None = None

    def summary_lines(self) -> list[str]:
        conf = self.run.conformance()
        lines = [
            f"report {self.directory / m.REPORT} ({len(self.run.tests)} tests: {m.counts_line(self.run.counts())}; "
            f"conformance {'n/a' if conf is None else f'{conf:g} %'})"
        ]
        if self.run.partial:
            scope = self.run.scope
            lines.append(
                f"PARTIAL run ({'; '.join(scope.get('reasons', []))}): {scope.get('left_out_count', 0)} left out; "
                "no declaration of conformance"
            )
        elif not self.run.declares:
            left = self.run.scope.get("profile_left_out", 0)
            ungenerated = self.run.scope.get("profile_not_generated", 0)
            lines.append(
                f"{self.run.profile} run, whole profile"
                + (f" ({left} tests deselected by the {self.run.profile} profile" if left else "")
                + (
                    f"{', and ' if left else ' ('}{ungenerated} test modules and functions it does not collect"
                    if ungenerated
                    else ""
                )
                + (")" if left or ungenerated else "")
                + ": not a certification, no declaration of conformance (--bview-profile certification issues one)"
            )
        if self.diff is not None:
            lines.append(f"changes since {self.diff.older}: {self.diff.summary()}")
            if self.diff.basis:
                lines.append(f"baseline: {self.diff.basis}")
            lines += [f"REGRESSION {r['id']}: {r['before']} -> {r['after']}" for r in self.diff.regressions]
        lines += [
            f"unexpected pass (expectations say fail): {t.id}" for t in self.run.tests if "unexpected pass" in t.flags
        ]
        lines += [f"health: {h['event']}" for h in self.run.health]
        if self.run.restore:
            lines.append(f"restore: {self.run.restore}")
        if self.expectations is not None:
            lines.append(f"expectations written to {self.expectations}")
        return lines


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("._") or "unknown"


# -- from the collector's phase records to Run objects ----------------------------------------------------


def build_runs(collector: Any, settings: Any, args: list[str]) -> list[m.Run]:
    groups: dict[str, list[m.TestResult]] = defaultdict(list)
    identities: dict[str, dict[str, str]] = {}
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    health: dict[str, list[dict[str, str]]] = defaultdict(list)
    from pytest_bview.target import device_key

    for nodeid, recs in collector.phases.items():
        setup = next((r for r in recs if r.get("when") == "setup"), recs[0])
        identity = setup.get("identity", {})
        key = device_key(identity)
        identities.setdefault(key, identity)
        groups[key].append(test_result(nodeid, recs, setup))
        for r in recs:
            for name, ms in r.get("ex", []):
                samples[key][name].append(ms)
        if setup.get("health"):
            health[key].append({"test": nodeid, "event": setup["health"]})
    tool = {
        "name": "pytest-bview",
        "version": _version(),
        "python": platform.python_version(),
        "pytest": _pytest_version(),
    }
    options = {
        k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
        for k, v in asdict(settings).items()
    }
    options.pop("password", None)
    options["args"] = redact_args(args)
    runs = []
    for key, tests in groups.items():
        runs.append(
            m.Run(
                identity=identities[key],
                tests=tests,
                tool=tool,
                options=options,
                started=collector.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                finished=datetime.now(collector.started.tzinfo).strftime("%Y-%m-%dT%H:%M:%SZ"),
                latency={k: m.percentiles(v) for k, v in sorted(samples[key].items())},
                shapes=collector.shapes.get(key, {}),
                health=health[key],
                restore=collector.restore.get(key),
                scope=dict(getattr(collector, "scope", {}) or {}),
            )
        )
    return runs


def _provision(rule_id: str) -> str:
    """The ETSI EN 303 645 / OWASP ISVS provision of a SECURITY rule; "" for any other rule (or an unknown one)."""
    from pytest_bview.spec.rules import RULES

    found = RULES.get(rule_id)
    return found.provision if found is not None and found.security else ""


def test_result(nodeid: str, recs: list[dict[str, Any]], setup: dict[str, Any]) -> m.TestResult:
    t = m.TestResult(
        nodeid,
        section=setup.get("section", ""),
        resource=setup.get("resource", ""),
        method=setup.get("method", ""),
        area=setup.get("area", ""),
        duration=round(sum(r.get("duration", 0.0) for r in recs), 4),
    )
    call = next((r for r in recs if r.get("when") == "call"), None)
    failed = next((r for r in recs if r.get("outcome") == "failed"), None)
    skipped = next((r for r in recs if r.get("outcome") == "skipped"), None)
    if failed is not None:
        t.verdict = FAIL
        where = "" if failed["when"] == "call" else f"error in {failed['when']}: "
        t.reason = where + _first_line(failed.get("message", ""))
        t.evidence = _evidence(failed)
    elif skipped is not None:
        skip = skipped.get("skip", "")
        if skip.startswith(f"xfail: {ADVISORY}: "):
            t.verdict, t.reason = ADVISORY, skip[len(f"xfail: {ADVISORY}: ") :]
            t.rule = skipped.get("advisory", "")
            t.security = _provision(t.rule)
            t.evidence = _evidence(skipped)
        elif skip.startswith("xfail: "):
            t.verdict, t.reason = WAIVED, skip[len("xfail: ") :].removeprefix("waived: ")
            t.evidence = _evidence(skipped)
        else:
            t.verdict, t.reason = from_skip(skip)
    elif call is not None and call.get("outcome") == "passed":
        t.verdict = PASS
    else:
        t.verdict = NOT_RUN
    if call is not None:
        t.flags = list(call.get("flags", []))
        t.expectation = call.get("expectation")
    if not t.resource:
        t.resource, t.method = _aimed_at(call or setup)
    return t


def _evidence(rec: dict[str, Any]) -> dict[str, Any] | None:
    ev = rec.get("evidence")
    if ev is None:
        return None
    return {"message": rec.get("message", ""), **ev}


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def _aimed_at(rec: dict[str, Any]) -> tuple[str, str]:
    """The resource-method a test without a case mostly exercised: its first write, else its most used GET."""
    names = [name for name, _ms in rec.get("ex", [])]
    writes = [n for n in names if not n.startswith("GET ")]
    pick = writes[0] if writes else (Counter(names).most_common(1)[0][0] if names else "")
    method, _, template = pick.partition(" ")
    return template, method


def redact_args(args: list[str]) -> list[str]:
    out, hide = [], False
    for a in args:
        if hide:
            out.append("****")
            hide = False
        elif a == "--bview-password":
            out.append(a)
            hide = True
        elif a.startswith("--bview-password="):
            out.append("--bview-password=****")
        else:
            out.append(a)
    return out


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-bview")
    except PackageNotFoundError:
        return "unknown"


def _pytest_version() -> str:
    import pytest

    return pytest.__version__


# -- writing ------------------------------------------------------------------------------------------------


def write_session(collector: Any, settings: Any, args: list[str], secrets: Iterable[str] = ()) -> list[Written]:
    redactor = m.Redactor(settings.user, settings.password, secrets)
    report_dir = settings.report_dir
    written = []
    for run in build_runs(collector, settings, args):
        w = write_run(run, report_dir, redactor)
        if settings.update_expectations:
            w.expectations = update_expectations(settings.expectations, run, report_dir)
        written.append(w)
    write_index(report_dir)
    return written


def update_expectations(path: str | None, run: m.Run, report_dir: Path) -> Path:
    from pytest_bview.report.expectations import Expectations

    target = Path(path) if path else report_dir / "expectations.toml"
    exp = Expectations.load(target)
    results = {t.id: t.verdict for t in run.tests}
    return exp.updated(run.model, run.firmware, results).save(target)


def new_run_dir(report_dir: Path, run: m.Run) -> Path:
    stamp = datetime.strptime(run.started, "%Y-%m-%dT%H:%M:%SZ").strftime(STAMP)
    parent = report_dir / safe(run.model) / safe(run.firmware)
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        candidate = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise OSError(f"no free run directory under {parent}")


def write_run(run: m.Run, report_dir: Path, redactor: m.Redactor) -> Written:
    from pytest_bview.report import render

    directory = new_run_dir(report_dir, run)
    run.path = directory.relative_to(report_dir).as_posix()
    previous = find_previous(report_dir, run)
    diff = None
    if previous is not None:
        basis = baseline_basis(run, previous)
        if basis:
            basis = f"no earlier run of this unit at this level with the same tests; the closest one is {basis}"
        diff = diff_runs(previous, run, basis=basis)
    run.diff = diff.to_dict() if diff is not None else None
    run = m.Run.from_dict(redactor.scrub(run.to_dict()))
    pages = {
        m.REPORT: render.report(run),
        m.DECLARATION: render.declaration(run),
        m.JUNIT: junit(run),
    }
    for name, text in pages.items():
        (directory / name).write_text(redactor.text(text), encoding="utf-8")
        run.files[name] = m.sha256(directory / name)
    write_results(directory, run, redactor)
    return Written(run, directory, diff)


def write_results(directory: Path, run: m.Run, redactor: m.Redactor) -> None:
    doc = run.to_dict()
    doc["results_sha256"] = m.canonical_digest(doc)
    text = redactor.text(json.dumps(doc, indent=1, ensure_ascii=False))
    (directory / m.RESULTS).write_text(text, encoding="utf-8")


def find_previous(report_dir: Path, run: m.Run) -> m.Run | None:
    """The baseline of `run`'s diff (Rule 3), with `basis` set on the diff by `baseline_basis`."""
    mine = Path(run.path).name
    older: list[tuple[str, Path]] = sorted(
        (results.parent.name, results)
        for results in (report_dir / safe(run.model)).glob(f"*/*/{m.RESULTS}")
        if results.parent.name < mine
    )
    best: tuple[tuple[int, int, int, str], m.Run] | None = None
    for stamp, results in reversed(older[-BASELINE_CANDIDATES:]):  # newest first: an exact match ends it
        try:
            candidate = m.Run.load(results)
        except (OSError, ValueError, TypeError):
            continue
        score = (*_likeness(run, candidate), stamp)
        if best is None or score > best[0]:
            best = (score, candidate)
        if score[:3] == (1, 1, 1):
            break
    return best[1] if best is not None else None


def _likeness(run: m.Run, other: m.Run) -> tuple[int, int, int]:
    """(same serial, same level, same tests) of two runs: what makes `other` a fair baseline (Rule 3)."""
    return (
        int(_serial(run) == _serial(other)),
        int(run.options.get("level") == other.options.get("level")),
        int({t.id for t in run.tests} == {t.id for t in other.tests}),
    )


def _serial(run: m.Run) -> str:
    return run.identity.get("SerialNum") or run.identity.get("SerialNumber") or ""


def baseline_basis(run: m.Run, baseline: m.Run) -> str:
    """ "" for a fair baseline; else how it differs from `run` (Rule 3)."""
    serial, level, tests = _likeness(run, baseline)
    if serial and level and tests:
        return ""
    why = []
    if not serial:
        why.append(f"another unit (serial {_serial(baseline) or 'unknown'}, this one {_serial(run) or 'unknown'})")
    if not level:
        why.append(f"level {baseline.options.get('level') or 'unknown'} (this run {run.options.get('level')})")
    if not tests:
        ours, theirs = {t.id for t in run.tests}, {t.id for t in baseline.tests}
        why.append(
            f"another selection ({len(theirs)} tests, {len(ours & theirs)} in common with this run's {len(ours)}; "
            "only the tests both ran are compared)"
        )
    return "; ".join(why)


def list_runs(report_dir: Path) -> list[dict[str, Any]]:
    """A summary of every run under `report_dir`; summaries are cached in INDEX_CACHE by run path, so
    writing the index after a run parses only the results.json files it has not seen before."""
    cache_file = report_dir / INDEX_CACHE
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    runs, fresh = [], {}
    for results in sorted(report_dir.glob(f"*/*/*/{m.RESULTS}")):
        rel = results.parent.relative_to(report_dir).as_posix()
        summary = cache.get(rel) or _summary(results, rel)
        if summary is None:
            continue
        fresh[rel] = summary
        runs.append(summary)
    if fresh != cache:
        tmp = report_dir / f"{INDEX_CACHE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(fresh), encoding="utf-8")
        tmp.replace(cache_file)
    runs.sort(key=lambda r: (r["model"], r["started"]), reverse=True)
    return runs


def _summary(results: Path, rel: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ident = doc.get("identity", {})
    return {
        "model": ident.get("DeviceTypeName", "unknown"),
        "firmware": ident.get("SoftWareVersion", "unknown"),
        "serial": ident.get("SerialNum", ""),
        "started": doc.get("started", ""),
        "counts": doc.get("counts", {}),
        "conformance": doc.get("conformance"),
        "partial": bool((doc.get("scope") or {}).get("partial")),
        "scope": "; ".join((doc.get("scope") or {}).get("reasons", [])),
        "selection": (doc.get("scope") or {}).get("selection", ""),
        "level": (doc.get("options") or {}).get("level", ""),
        "path": rel,
        "regressions": len((doc.get("diff") or {}).get("regressions", [])),
    }


def write_index(report_dir: Path) -> Path:
    from pytest_bview.report import render

    report_dir.mkdir(parents=True, exist_ok=True)
    target = report_dir / "index.html"
    tmp = report_dir / f".index.html.{os.getpid()}.tmp"
    tmp.write_text(render.index(list_runs(report_dir)), encoding="utf-8")
    tmp.replace(target)
    return target


def junit(run: m.Run) -> str:
    """JUnit XML of the run's verdicts (waived, not supported, inconclusive and not run as skipped)."""
    import xml.etree.ElementTree as ET

    counts = run.counts()
    suite = ET.Element(
        "testsuite",
        name=f"B-View 2 conformance {run.model} {run.firmware}",
        tests=str(len(run.tests)),
        failures=str(counts[FAIL]),
        errors="0",
        skipped=str(len(run.tests) - counts[FAIL] - counts[PASS]),
        timestamp=run.started,
        time=f"{sum(t.duration for t in run.tests):.3f}",
    )
    props = ET.SubElement(suite, "properties")
    for k, v in run.identity.items():
        ET.SubElement(props, "property", name=k, value=str(v))
    ET.SubElement(props, "property", name="scope", value="partial" if run.partial else "full")
    if run.partial:
        ET.SubElement(props, "property", name="scope_reasons", value="; ".join(run.scope.get("reasons", [])))
        ET.SubElement(props, "property", name="left_out", value=str(run.scope.get("left_out_count", 0)))
    for t in run.tests:
        file, _, name = t.id.partition("::")
        case = ET.SubElement(
            suite, "testcase", classname=file.removesuffix(".py").replace("/", "."), name=name, time=f"{t.duration:.3f}"
        )
        if t.verdict == FAIL:
            el = ET.SubElement(case, "failure", message=t.reason)
            el.text = _failure_text(t)
        elif t.verdict != PASS:
            ET.SubElement(case, "skipped", message=f"{t.verdict}: {t.reason}", type=t.verdict)
        # Jenkins' junit-10.xsd allows no <properties> in a <testcase>: the section and verdict go to its output
        if t.section:
            ET.SubElement(case, "system-out").text = f"spec section: {t.section}\nverdict: {t.verdict}"
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _failure_text(t: m.TestResult) -> str:
    ev = t.evidence or {}
    lines = [ev.get("message", "") or t.reason]
    for ex in ev.get("exchanges", [])[-1:]:
        lines.append(f"Reproduce with: {ex.get('curl', '')}")
    return "\n".join(lines)
