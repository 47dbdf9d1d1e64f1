"""The report sub-plugin (registered by plugin.py): collects each test's verdict and evidence, writes the run.

Rule 1: nothing happens unless the session uses the camera: a test is recorded only when it asks for
        the `bview` fixtures and its own camera is open (`session.item_target`, never opened here), under
        that camera's identity; a session without such a test writes nothing.
Rule 2: xdist-safe. Where a test runs (a worker, or the only process) its report gets a small JSON-able
        attribute `bview_report`; the controller alone folds those into `config.stash[STATE_KEY]` and
        writes the files. Per-process extras (GET shapes, the restore verdict) come back from workers
        in `workeroutput`.
Rule 3: the restore verdict of each camera comes from the `pytest_bview_restore_verdicts` hook
        (device key -> "device state restored: N/N resources identical").
Rule 4: the files are written after every other sessionfinish hook (trylast), so a restore that runs
        there is reported.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_bview import session as bview_session
from pytest_bview.report.health import HealthGate
from pytest_bview.report.model import exchange_evidence, section_of, shape_of
from pytest_bview.target import device_key
from pytest_bview.verdicts import inconclusive

RECORD = "bview_report"  # attribute on TestReport (crosses xdist: TestReport keeps extra attributes)
MAX_EVIDENCE_EXCHANGES = 6


@dataclass
class Local:
    """What one process (worker or the only one) gathers beside the reports."""

    shapes: dict[str, dict[str, Any]] = field(default_factory=dict)  # device key -> template -> shape
    bodies: set[bytes] = field(default_factory=set)
    written: dict[str, set[str]] = field(default_factory=dict)  # device key -> paths the run wrote (PUT, POST...)
    gate: HealthGate = field(default_factory=HealthGate)
    expectations: Any = None


@dataclass
class Collector:
    """The controller's state: every test's phase records, per-device extras, what was written."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    phases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # nodeid -> phase records
    shapes: dict[str, dict[str, Any]] = field(default_factory=dict)
    restore: dict[str, str] = field(default_factory=dict)  # device key -> verdict line
    written: list[Any] = field(default_factory=list)  # runs.Written
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    collected: list[str] = field(default_factory=list)  # node ids of the session's selection
    deselected: list[str] = field(default_factory=list)  # node ids a -k, -m, --deselect or plugin took out
    scope: dict[str, Any] = field(default_factory=dict)  # model.Run.scope: whole selection or partial


STATE_KEY = pytest.StashKey[Collector]()
LOCAL_KEY = pytest.StashKey[Local]()
SEEN_KEY = pytest.StashKey[int]()
EVENT_KEY = pytest.StashKey[str]()
DESCRIBED_KEY = pytest.StashKey[dict[str, str]]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[LOCAL_KEY] = Local()
    if not _is_worker(config):
        config.stash[STATE_KEY] = Collector()
        config.pluginmanager.register(Controller(config), "bview-report-controller")


def _area(node: pytest.Item) -> str:
    for area in bview_session.AREAS:
        if node.get_closest_marker(area):
            return area
    return getattr(getattr(node, "module", None), "__name__", "") or node.nodeid.split("::")[0]


@pytest.fixture(autouse=True)
def _bview_health_gate(request: pytest.FixtureRequest) -> None:
    """Before each area (and after a test that lost the device): is the camera healthy?"""
    if not set(request.fixturenames) & set(bview_session.FIXTURES):
        return
    target = request.getfixturevalue("bview")
    local = request.config.stash[LOCAL_KEY]
    with target.client.off_record():  # health probes are the kit's requests, not the check's
        reason, event = local.gate.before(target, _area(request.node), request.node.nodeid)
        if reason is None:
            _mac(target)  # read once per camera (Target caches it)
    if event:
        request.node.stash[EVENT_KEY] = event
    if reason:
        inconclusive(reason)


def _mac(target: Any) -> str:
    mark = len(target.client.exchanges)
    try:
        return str(target.mac)
    except Exception:  # a device without the resource still gets a report
        return ""
    finally:
        del target.client.exchanges[mark:]


# -- where the test runs ------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outermost: sees pytest-html's extras on the report
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    target = bview_session.item_target(item)
    if target is None or not bview_session.uses_camera(item):
        return
    local = item.config.stash[LOCAL_KEY]
    exchanges = list(target.client.exchanges)
    seen = item.stash.get(SEEN_KEY, 0) if report.when != "setup" else 0
    new = exchanges[seen:] if seen <= len(exchanges) else exchanges
    item.stash[SEEN_KEY] = len(exchanges)
    rec: dict[str, Any] = {"when": report.when, "ex": _timings(new)}
    _absorb_shapes(local, target, new)
    if report.when == "setup":
        rec["identity"] = {**target.identity, "MacAddress": target.known_mac}
        described = _describe(item)
        item.stash[DESCRIBED_KEY] = described
        rec.update(described)
        if EVENT_KEY in item.stash:
            rec["health"] = item.stash[EVENT_KEY]
    if report.failed and call.excinfo is not None:
        from pytest_bview.client import DeviceError

        rec["message"] = _message(call.excinfo)
        rec["evidence"] = _evidence(call.excinfo, new or exchanges, report)
        if call.excinfo.errisinstance(DeviceError):
            local.gate.suspect = True
    if report.when == "call":
        _apply_level(report, rec, call, target)
        _apply_expectation(item, report, rec, local, target)
    setattr(report, RECORD, target.client.secrets.scrub(rec))  # (client.py Rule 2: every secret it knows)
    described = item.stash.get(DESCRIBED_KEY, {})
    report.bview_section = described.get("section", "")  # type: ignore[attr-defined]  # (pytest-html columns)
    report.bview_resource = " ".join(x for x in (described.get("method"), described.get("resource")) if x)  # type: ignore[attr-defined]


# -- pytest-html: the same facts in its table (a team's existing --html reports) ----------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_header(cells: list[str]) -> None:
    cells.insert(2, "<th>Spec section</th>")
    cells.insert(3, "<th>Resource</th>")
    cells.insert(4, "<th>B-View verdict</th>")


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_row(report: Any, cells: list[str]) -> None:
    import html

    from pytest_bview.spec.sections import titled
    from pytest_bview.verdicts import of_report

    section = str(getattr(report, "bview_section", "") or "")
    cells.insert(2, f"<td>{html.escape(titled(section) if section else '')}</td>")
    cells.insert(3, f"<td>{html.escape(str(getattr(report, 'bview_resource', '') or ''))}</td>")
    cells.insert(4, f"<td>{html.escape(of_report(report) or '')}</td>")


def _timings(exchanges: list[Any]) -> list[list[Any]]:
    from pytest_bview.spec.resources import match

    out = []
    for ex in exchanges:
        found = match(ex.path.split("?", 1)[0])
        if found and ex.status is not None:
            out.append([f"{ex.method} {found[0].template}", round(ex.elapsed * 1000, 3)])
    return out


KIT_PICKED = "(picked by the kit)"  # a port value the kit chose for the built-in camera


def _absorb_shapes(local: Local, target: Any, exchanges: list[Any]) -> None:
    from pytest_bview.spec.facts import RUNTIME_BLOCKS
    from pytest_bview.spec.resources import match

    key = device_key(target.identity)
    book = local.shapes.setdefault(key, {})
    written = local.written.setdefault(key, set())
    for ex in exchanges:
        path = ex.path.split("?", 1)[0]
        if ex.method != "GET":
            written.add(path.rstrip("/"))
            continue
        if ex.status != 200 or not ex.body or ex.truncated:
            continue
        if not ex.body.lstrip().startswith(b"<"):
            continue
        digest = hashlib.blake2b(ex.body, digest_size=16).digest()
        if digest in local.bodies:
            continue
        local.bodies.add(digest)
        found = match(path)
        shape = shape_of(ex.body) if found else None
        if found is None or shape is None:
            continue
        paths, namespaces, values = shape
        picked: frozenset[str] = getattr(target, "picked_ports", frozenset())
        values = {k: KIT_PICKED if "Port" in k and v in picked else v for k, v in values.items()}
        # first-read values are the device's own only before the run wrote the resource, a part or a whole of
        # it: read after, they tell the run's order (seen: DNS and e-mail values "changed" between two runs
        # whose checks ran in another order); a run-time block's values are the moment's
        if found[0].block in RUNTIME_BLOCKS or _overlaps(path.rstrip("/"), written):
            values = {}
        entry = book.setdefault(found[0].template, {"paths": [], "namespaces": [], "values": values})
        entry["paths"] = sorted(set(entry["paths"]) | paths)
        entry["namespaces"] = sorted(set(entry["namespaces"]) | namespaces)


def _overlaps(path: str, written: set[str]) -> bool:
    """A written path is this resource, one of its parts or a collection holding it (/Network, /Network/EMail)."""
    return any(w == path or w.startswith(path + "/") or path.startswith(w + "/") for w in written)


def _describe(item: pytest.Item) -> dict[str, str]:
    """Spec section, resource template and method a test is aimed at, and its area."""
    from pytest_bview.cases import Case
    from pytest_bview.spec.resources import match

    out = {"area": _area(item), "section": "", "resource": "", "method": ""}
    params = getattr(getattr(item, "callspec", None), "params", {})
    case = next((v for v in params.values() if isinstance(v, Case)), None)
    if case is not None:
        out.update(section=case.section, resource=case.resource.template, method=case.op.method)
        return out
    fn = getattr(item, "function", None)
    out["section"] = section_of(getattr(fn, "__doc__", None))
    name = item.nodeid.partition("[")[2]
    for method in ("GET", "PUT", "POST", "DELETE"):
        if name.startswith(method + " /"):
            found = match(name[len(method) + 1 :].rstrip("]").split(" ")[0].split("?")[0])
            if found:
                out.update(resource=found[0].template, method=method)
                out["section"] = out["section"] or found[0].section
    return out


def _message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    finding = getattr(excinfo.value, "finding", None)
    if finding is not None:
        return f"device: {finding.did}\nspec {finding.section}: {finding.requires}"
    return excinfo.exconly()[:4000]


def _evidence(excinfo: pytest.ExceptionInfo[BaseException], exchanges: list[Any], report: Any) -> dict[str, Any]:
    finding = getattr(excinfo.value, "finding", None)
    chosen = list(finding.exchanges) if finding is not None and finding.exchanges else exchanges
    out: dict[str, Any] = {"exchanges": [exchange_evidence(ex) for ex in chosen[-MAX_EVIDENCE_EXCHANGES:]]}
    if finding is not None:
        out.update(did=finding.did, requires=finding.requires, section=finding.section)
    images = []
    image = getattr(excinfo.value, "image", None)  # a media check may attach the frame it judged
    if isinstance(image, bytes | bytearray):
        import base64

        kind = "png" if bytes(image[:4]) == b"\x89PNG" else "jpeg"
        images.append(f"data:image/{kind};base64," + base64.b64encode(image).decode())
    for extra in getattr(report, "extras", None) or getattr(report, "extra", None) or []:
        if isinstance(extra, dict) and extra.get("format_type") == "image" and extra.get("content"):
            mime = extra.get("mime_type") or "image/png"
            images.append(f"data:{mime};base64,{extra['content']}")
    if images:
        out["images"] = images
    return out


def _apply_level(report: Any, rec: dict[str, Any], call: pytest.CallInfo[None], target: Any) -> None:
    """Rule 3 of verdicts.py: a failed SHOULD/MAY rule is an advisory (xfail-like), unless --bview-strict; a failed
    SECURITY rule always."""
    from pytest_bview.verdicts import ADVISORY, advisory_rule

    if not report.failed or call.excinfo is None:
        return
    found = advisory_rule(call.excinfo.value, bool(getattr(target.settings, "strict", False)))
    if found is None:
        return
    finding = call.excinfo.value.finding  # type: ignore[attr-defined]
    report.outcome = "skipped"
    report.wasxfail = f"{ADVISORY}: {found.id} ({found.level} {found.section}): {finding.did}"  # type: ignore[attr-defined]
    rec["advisory"] = found.id


def _apply_expectation(item: pytest.Item, report: Any, rec: dict[str, Any], local: Local, target: Any) -> None:
    """Rule 1 of expectations.py: an expected failure becomes an xfail-like waiver."""
    from pytest_bview.report.expectations import Expectations, ExpectationsError
    from pytest_bview.verdicts import FAIL

    if local.expectations is None:
        try:
            local.expectations = Expectations.load(target.settings.expectations)
        except ExpectationsError as err:
            pytest.exit(f"bview: {err}", returncode=4)
    exp = local.expectations.lookup(target.model, target.firmware, item.nodeid)
    if exp is None:
        return
    rec["expectation"] = exp.as_dict()
    if exp.verdict == FAIL and report.failed:
        report.outcome = "skipped"
        report.wasxfail = f"waived: {exp.reason}" + (f" ({exp.link})" if exp.link else "")
        rec["waived"] = True
    elif exp.verdict == FAIL and report.passed:
        rec["flags"] = ["unexpected pass"]


# -- the controller ---------------------------------------------------------------------------------


class Controller:
    """Registered on the controller only: folds test reports into `config.stash[STATE_KEY]`."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = getattr(report, RECORD, None)
        collector = self.config.stash.get(STATE_KEY, None)
        if rec is None or collector is None:
            return
        rec = dict(rec)
        rec["outcome"] = report.outcome
        rec["duration"] = report.duration
        if report.skipped:
            wasxfail = getattr(report, "wasxfail", None)
            rec["skip"] = f"xfail: {wasxfail}" if wasxfail is not None else _skip_reason(report)
        collector.phases.setdefault(report.nodeid, []).append(rec)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        collector = self.config.stash.get(STATE_KEY, None)
        if collector is not None:
            collector.deselected += [i.nodeid for i in items]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        collector = self.config.stash.get(STATE_KEY, None)
        if collector is not None:
            collector.collected = [i.nodeid for i in session.items if bview_session.uses_camera(i)]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist: fold a worker's shapes and restore verdict into the controller's state."""
        out = getattr(node, "workeroutput", {}).get(RECORD)
        collector = self.config.stash.get(STATE_KEY, None)
        if not out or collector is None:
            return
        _merge_shapes(collector.shapes, out.get("shapes", {}))
        collector.restore.update(out.get("restore", {}))


def _advisories(collector: Collector) -> list[tuple[str, str]]:
    """(test id, reason) of every advisory of the run (verdicts.py Rule 3), in run order."""
    from pytest_bview.verdicts import ADVISORY

    prefix = f"xfail: {ADVISORY}: "
    return [
        (nodeid, rec["skip"][len(prefix) :])
        for nodeid, recs in collector.phases.items()
        for rec in recs
        if str(rec.get("skip", "")).startswith(prefix)
    ]


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple | list) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr or "")


def _merge_shapes(into: dict[str, dict[str, Any]], shapes: dict[str, dict[str, Any]]) -> None:
    for key, book in shapes.items():
        mine = into.setdefault(key, {})
        for template, shape in book.items():
            have = mine.setdefault(template, {"paths": [], "namespaces": [], "values": shape.get("values", {})})
            have["paths"] = sorted(set(have["paths"]) | set(shape.get("paths", [])))
            have["namespaces"] = sorted(set(have["namespaces"]) | set(shape.get("namespaces", [])))


def _restore_verdicts(config: pytest.Config) -> dict[str, str]:
    """Rule 3: device key -> restore verdict line, for every camera this process restored."""
    out: dict[str, str] = {}
    for found in config.hook.pytest_bview_restore_verdicts(config=config):
        out.update(found or {})
    return out


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    local = config.stash.get(LOCAL_KEY, None)
    restore = _restore_verdicts(config)
    if _is_worker(config):
        if local is not None:
            config.workeroutput[RECORD] = {"shapes": local.shapes, "restore": restore}  # type: ignore[attr-defined]
        return
    collector = config.stash.get(STATE_KEY, None)
    if collector is None or not collector.phases:
        return
    if local is not None:
        _merge_shapes(collector.shapes, local.shapes)
    collector.restore.update(restore)
    from pytest_bview.options import resolve
    from pytest_bview.report import runs

    start = time.perf_counter()
    collector.scope = scope_of(session, exitstatus, collector)
    settings = resolve(config)
    try:
        collector.written = runs.write_session(
            collector, settings, list(config.invocation_params.args), _known_secrets(config)
        )
    except OSError as err:
        collector.problems.append(f"report not written: {err}")
    collector.seconds = time.perf_counter() - start


def _known_secrets(config: pytest.Config) -> set[str]:
    """What this process's clients learned (client.Secrets); an xdist worker's evidence is redacted there."""
    return {value for target in bview_session.opened_targets(config) for value in target.client.secrets.values}


MAX_LEFT_OUT = 200  # node ids listed in results.json; the count is always whole


def scope_of(session: pytest.Session, exitstatus: int, collector: Collector) -> dict[str, Any]:
    """Whether the run executed the whole certification selection, and if not why and what was left out.

    Partial: the run did not execute its whole profile: a -k or -m selection, deselected tests (beyond what
    the profile leaves out), a stop before the end (-x, --maxfail, interruption), collected tests that never
    ran, or test modules of the suites' directories that were not collected. Separately, only a full run of
    the certification profile declares conformance (`declares`, profiles.py Rule 2).
    """
    from pytest_bview.options import resolve
    from pytest_bview.profiles import PROFILES, module_left_out
    from pytest_bview.report.runs import redact_args

    opt = session.config.option
    reasons: list[str] = []
    if getattr(opt, "keyword", ""):
        reasons.append(f"-k {opt.keyword!r}")
    if getattr(opt, "markexpr", ""):
        reasons.append(f"-m {opt.markexpr!r}")
    by_profile = session.config.stash.get(bview_session.PROFILE_DESELECTED_KEY, 0)
    ungenerated = session.config.stash.get(bview_session.PROFILE_UNGENERATED_KEY, [])
    if len(collector.deselected) > by_profile:
        reasons.append(f"{len(collector.deselected) - by_profile} tests deselected")
    profile = PROFILES[resolve(session.config).profile]
    stopped = session.shouldfail or session.shouldstop
    if stopped:
        reasons.append(f"stopped early ({stopped})")
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        reasons.append("interrupted")
    ran = {n for n, recs in collector.phases.items() if any(_ended(r) for r in recs)}
    never = [n for n in collector.collected if n not in ran]
    if never:
        reasons.append(f"{len(never)} collected tests never ran")
    # a module whose every test was deselected is counted by its tests, not again as a module
    modules = [
        m
        for m in _modules_left_out(session, [*(collector.collected or list(collector.phases)), *collector.deselected])
        if not module_left_out(profile.name, m.rsplit("/", 1)[-1])  # the profile's choice (profiles.py Rule 4)
    ]
    if modules:
        reasons.append(f"{len(modules)} test modules not selected")
    left_out = [*collector.deselected, *never, *modules]
    return {
        "profile": profile.name,
        "declares": profile.declares and not reasons,
        "profile_left_out": by_profile,
        "profile_not_generated": len(ungenerated),
        "partial": bool(reasons),
        "selection": " ".join(redact_args(list(session.config.invocation_params.args))) or ".",
        "reasons": reasons,
        "left_out_count": len(left_out),
        "left_out": left_out[:MAX_LEFT_OUT],
    }


def _ended(rec: dict[str, Any]) -> bool:
    """The phase ran the test, skipped it, or ended it in an error of setup or teardown: not left out."""
    return rec.get("when") == "call" or bool(rec.get("skip")) or rec.get("outcome") == "failed"


def _modules_left_out(session: pytest.Session, nodeids: list[str]) -> list[str]:
    """Test modules beside the collected ones (the suites' directory) that the run did not collect."""
    root = session.config.rootpath
    files = {n.split("::")[0] for n in nodeids}
    dirs = {(root / f).parent for f in files}
    out = []
    for d in sorted(dirs):
        for module in sorted(d.glob("test_*.py")):
            rel = module.relative_to(root).as_posix() if module.is_relative_to(root) else str(module)
            if rel not in files:
                out.append(rel)
    return out


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    collector = config.stash.get(STATE_KEY, None)
    if collector is None:
        return
    for line in collector.problems:
        terminalreporter.write_line(f"bview: {line}", red=True)
    advisories = _advisories(collector)
    if advisories:
        terminalreporter.write_sep(
            "-", f"bview: {len(advisories)} advisories (SHOULD/MAY rules not met, security advisories; not failures)"
        )
        for nodeid, reason in advisories:
            terminalreporter.write_line(f"ADVISORY {nodeid} - {reason}", yellow=True)
    for written in collector.written:
        for line in written.summary_lines():
            terminalreporter.write_line(f"bview: {line}")
    if collector.written:
        terminalreporter.write_line(f"bview: report written in {collector.seconds:.2f} s")
