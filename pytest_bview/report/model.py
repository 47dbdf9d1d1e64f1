"""A conformance run's results as data: what results.json holds and every page is rendered from.

Rule 1: one `TestResult` per test id: spec section, resource template, method, verdict, duration,
        evidence. Verdicts are those of pytest_bview.verdicts.
Rule 2: evidence is redacted when it is made (Authorization headers, the password, its Basic token);
        `Redactor.scrub` sweeps every string once more before anything is written.
Rule 3: a resource's "shape" is the set of element paths seen in its GET bodies (namespaces kept
        apart), so two runs can be compared for fields added, removed or renamed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pytest_bview.client import Secrets
from pytest_bview.verdicts import ADVISORY, FAIL, NOT_RUN, PASS, VERDICTS, WAIVED

FORMAT = "pytest-bview results 1"
RESULTS = "results.json"
REPORT = "report.html"
JUNIT = "junit.xml"
DECLARATION = "declaration.html"
REQUIRED_FILES = (RESULTS, REPORT, JUNIT, DECLARATION)
MAX_BODY = 16000  # characters of a body kept as evidence
MAX_IMAGE = 512 * 1024  # bytes of an image body embedded as evidence
METHODS = ("GET", "PUT", "POST", "DELETE")
_SECTION = re.compile(r"(?<![\w.])(\d{1,2}(?:\.\d+){0,6})(?![\w.])")  # 9.1.7.1.1.1 has six parts


@dataclass
class TestResult:
    id: str
    section: str = ""
    resource: str = ""
    method: str = ""
    area: str = ""
    verdict: str = NOT_RUN
    reason: str = ""
    duration: float = 0.0
    flags: list[str] = field(default_factory=list)  # "unexpected pass", ...
    expectation: dict[str, str] | None = None
    evidence: dict[str, Any] | None = None
    rule: str = ""  # the SHOULD/MAY/SECURITY rule (spec/rules.py) an advisory is about
    # a security advisory (a SECURITY rule, beyond the spec): the ETSI EN 303 645 / OWASP ISVS provision it names
    security: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TestResult:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Run:
    identity: dict[str, str]
    tests: list[TestResult]
    tool: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    latency: dict[str, dict[str, float]] = field(default_factory=dict)  # "GET /template" -> n, p50, p95, max (ms)
    shapes: dict[str, dict[str, Any]] = field(default_factory=dict)  # template -> paths, namespaces, values
    health: list[dict[str, str]] = field(default_factory=list)
    restore: str | None = None
    diff: dict[str, Any] | None = None
    # partial, selection (the command line), reasons, left_out_count, left_out (hooks.scope_of); {} = not known
    scope: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # file name -> SHA-256
    path: str = ""  # the run directory relative to the report directory

    @property
    def partial(self) -> bool:
        """The run did not execute its whole profile: no declaration of conformance for it."""
        return bool(self.scope.get("partial"))

    @property
    def declares(self) -> bool:
        """A full run of the certification profile: the only kind that declares conformance (runs written
        before profiles existed say nothing of it and keep their declaration)."""
        return not self.partial and bool(self.scope.get("declares", True))

    @property
    def profile(self) -> str:
        return str(self.scope.get("profile") or "")

    # -- figures ------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.identity.get("DeviceTypeName") or "unknown"

    @property
    def firmware(self) -> str:
        return self.identity.get("SoftWareVersion") or "unknown"

    def counts(self) -> dict[str, int]:
        c = Counter(t.verdict for t in self.tests)
        return {v: c.get(v, 0) for v in VERDICTS}

    def security_advisories(self) -> list[TestResult]:
        """The advisories of SECURITY rules: beyond the spec, shown apart, never counted against conformance."""
        return [t for t in self.tests if t.verdict == ADVISORY and t.security]

    def conformance(self) -> float | None:
        """Passed share of the conclusive checks (pass and advisory, fail, waived), in percent."""
        return conformance(self.counts())

    def by_section(self) -> list[tuple[str, dict[str, int]]]:
        rows: dict[str, Counter[str]] = defaultdict(Counter)
        for t in self.tests:
            rows[t.section or "?"][t.verdict] += 1
        return [(s, {v: rows[s].get(v, 0) for v in VERDICTS}) for s in sorted(rows, key=section_key)]

    def matrix(self) -> dict[tuple[str, str], dict[str, int]]:
        """(resource template, method) -> verdict counts of the tests aimed at it."""
        cells: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for t in self.tests:
            if t.resource and t.method:
                cells[(t.resource, t.method)][t.verdict] += 1
        return {k: dict(v) for k, v in cells.items()}

    # -- (de)serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d = {"format": FORMAT, **d, "counts": self.counts(), "conformance": self.conformance()}
        d["security_advisories"] = [
            {"id": t.id, "rule": t.rule, "provision": t.security, "section": t.section, "reason": t.reason}
            for t in self.security_advisories()
        ]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "tests"}
        return cls(tests=[TestResult.from_dict(t) for t in d.get("tests", [])], **fields)

    @classmethod
    def load(cls, where: str | Path) -> Run:
        path = Path(where)
        if path.is_dir():
            path = path / RESULTS
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def conformance(counts: dict[str, int]) -> float | None:
    # an advisory met every MUST of its check (verdicts.py Rule 3): it conforms
    conforming = counts.get(PASS, 0) + counts.get(ADVISORY, 0)
    conclusive = conforming + counts.get(FAIL, 0) + counts.get(WAIVED, 0)
    return round(100.0 * conforming / conclusive, 1) if conclusive else None


def section_key(section: str) -> tuple[tuple[int, int | str], ...]:
    """Numeric order ("9.2" before "9.10"); a section that is not a number ("?") sorts after the numbers."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\s]", section))


def section_of(doc: str | None) -> str:
    """The spec section a test's docstring names first ("4.5.4: a valid PUT ..." -> "4.5.4")."""
    if not doc:
        return ""
    first = doc.strip().split("\n\n")[0]
    found = _SECTION.search(first)
    return found.group(1) if found else ""


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)

    def pick(q: float) -> float:
        return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]

    return {"n": len(s), "p50": round(pick(0.50), 2), "p95": round(pick(0.95), 2), "max": round(s[-1], 2)}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def canonical_digest(doc: dict[str, Any]) -> str:
    """SHA-256 of results.json's content without its own digest (verify recomputes it)."""
    body = {k: v for k, v in doc.items() if k != "results_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- evidence ------------------------------------------------------------------------------------


class Redactor(Secrets):
    """The session's secrets (client.Secrets: the password, its Basic token, and `known`, what the clients
    learned) swept out of every string of a report before it is written; `text` for one string."""

    def __init__(self, user: str | None, password: str | None, known: Iterable[str] = ()) -> None:
        super().__init__(user, *(v for v in (password, *known) if v))

    def text(self, s: str) -> str:
        return self.redact(s)


def exchange_evidence(ex: Any) -> dict[str, Any]:
    """One client Exchange as JSON-able evidence: request, headers (Authorization redacted), bodies, curl."""
    headers = {
        k: ("****" if k.lower() == "authorization" else ex.redact(str(v))) for k, v in ex.request_headers.items()
    }
    ctype = ex.headers.get("Content-Type", "") if ex.headers else ""
    out: dict[str, Any] = {
        "request": f"{ex.method} {ex.path}",
        "request_headers": headers,
        "request_body": _body_text(ex, ex.request_body, headers.get("Content-Type", "")),
        "status": ex.status,
        "reason": ex.reason,
        "response_headers": {k: ex.redact(str(v)) for k, v in (ex.headers or {}).items()},
        "response_body": "",
        "elapsed_ms": round(ex.elapsed * 1000, 2),
        "error": ex.redact(ex.error) if ex.error else None,
        "truncated": ex.truncated,
        "curl": ex.curl(),
    }
    if ctype.startswith("image/") and ex.body:
        if len(ex.body) <= MAX_IMAGE:
            out["image"] = f"data:{ctype.split(';')[0]};base64," + base64.b64encode(ex.body).decode()
        out["response_body"] = f"<{len(ex.body)} bytes of {ctype}>"
    else:
        out["response_body"] = _body_text(ex, ex.body, ctype)
    return out


def _body_text(ex: Any, body: bytes, ctype: str) -> str:
    if not body:
        return ""
    text = body[: MAX_BODY * 2].decode("utf-8", "replace")
    looks_xml = "xml" in ctype or text.lstrip().startswith("<")
    if not looks_xml and ("text" not in ctype and "json" not in ctype):
        if any(ch in text[:512] for ch in "\x00\ufffd"):
            return f"<{len(body)} bytes of {ctype or 'unlabelled data'}>"
    text = ex.redact(text)  # as the device sent it: re-indenting would hide its own layout and whitespace
    return text[:MAX_BODY] + ("\n... (cut)" if len(text) > MAX_BODY else "")


def shape_of(body: bytes) -> tuple[set[str], set[str], dict[str, str]] | None:
    """(element paths, namespaces, leaf values) of an XML body, or None when it is not XML."""
    import defusedxml.ElementTree as SafeET

    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except Exception:
        return None
    paths: set[str] = set()
    namespaces: set[str] = set()
    values: dict[str, str] = {}

    def walk(el: Any, prefix: str) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag.startswith("{"):
            ns, _, tag = tag[1:].partition("}")
            namespaces.add(ns)
        path = f"{prefix}/{tag}" if prefix else tag
        paths.add(path)
        children = list(el)
        if not children and path not in values:
            values[path] = (el.text or "").strip()[:100]
        for child in children:
            walk(child, path)

    walk(root, "")
    return paths, namespaces, values


def counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
