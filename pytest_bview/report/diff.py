"""What changed between two runs (firmware N-1 -> N): verdicts, API shape, latency.

Rule 1: a regression is a test that passed in the older run and fails in the newer one; only
        regressions make `bview-report diff` exit non-zero (a waived failure is known, not new).
Rule 2: the API shape of a resource is the set of element paths its GET bodies showed (model.py);
        a removed and an added element under the same parent with similar names is a rename.
Rule 3: a latency shift needs at least 3 samples on both sides, the median moving by 50 % and by
        at least 10 ms, so the jitter of a loopback simulator is not news.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_bview.report.model import Run
from pytest_bview.verdicts import FAIL, NOT_SUPPORTED, PASS, WAIVED

LATENCY_RATIO = 1.5
LATENCY_MIN_MS = 10.0
LATENCY_MIN_SAMPLES = 3
VOLATILE = re.compile(r"Time|Date|Bitrate|Version|Serial|Capacity|Free|Uptime|Port|URI|URL|Address|Mac", re.I)


@dataclass
class Diff:
    older: str
    newer: str
    regressions: list[dict[str, str]] = field(default_factory=list)
    fixes: list[dict[str, str]] = field(default_factory=list)
    newly_unsupported: list[dict[str, str]] = field(default_factory=list)
    other_changes: list[dict[str, str]] = field(default_factory=list)
    added_tests: list[str] = field(default_factory=list)
    removed_tests: list[str] = field(default_factory=list)
    shape: list[dict[str, Any]] = field(default_factory=list)
    latency: list[dict[str, Any]] = field(default_factory=list)
    basis: str = ""  # why the older run is not of the same unit, level and tests ("" when it is)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diff:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def counts(self) -> dict[str, int]:
        return {
            "regressions": len(self.regressions),
            "fixes": len(self.fixes),
            "newly unsupported": len(self.newly_unsupported),
            "other verdict changes": len(self.other_changes),
            "API-shape changes": len(self.shape),
            "latency shifts": len(self.latency),
        }

    def summary(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in self.counts().items())

    def exit_status(self) -> int:
        return 1 if self.regressions else 0

    def text(self) -> str:
        """The diff for a terminal."""
        lines = [f"older: {self.older}", f"newer: {self.newer}"]
        lines += [f"baseline: {self.basis}"] if self.basis else []
        lines.append(self.summary())
        for title, rows in (
            ("REGRESSION", self.regressions),
            ("fixed", self.fixes),
            ("newly unsupported", self.newly_unsupported),
            ("changed", self.other_changes),
        ):
            for r in rows:
                lines.append(
                    f"{title}: {r['id']}: {r['before']} -> {r['after']}"
                    + (f" ({r['reason']})" if r.get("reason") else "")
                )
        for s in self.shape:
            lines.append(f"API shape of {s['resource']}: {shape_text(s)}")
        for lat in self.latency:
            lines.append(
                f"latency {lat['resource']}: p50 {lat['before_p50']} -> {lat['after_p50']} ms ({lat['change']})"
            )
        return "\n".join(lines)


def shape_text(s: dict[str, Any]) -> str:
    parts = []
    for key, label in (("added", "added"), ("removed", "removed")):
        if s.get(key):
            parts.append(f"{label} {', '.join(s[key])}")
    if s.get("renamed"):
        parts.append("renamed " + ", ".join(f"{a} -> {b}" for a, b in s["renamed"]))
    if s.get("namespaces_added") or s.get("namespaces_removed"):
        parts.append(f"namespace {s.get('namespaces_removed') or ['none']} -> {s.get('namespaces_added') or ['none']}")
    if s.get("values"):
        parts.append("first-read values " + ", ".join(f"{p} {a!r} -> {b!r}" for p, a, b in s["values"]))
    return "; ".join(parts)


def diff_runs(older: Run, newer: Run, basis: str = "") -> Diff:
    d = Diff(_label(older), _label(newer), basis=basis)
    before = {t.id: t for t in older.tests}
    after = {t.id: t for t in newer.tests}
    for tid, t in after.items():
        o = before.get(tid)
        if o is None:
            d.added_tests.append(tid)
            continue
        if o.verdict == t.verdict:
            continue
        row = {"id": tid, "section": t.section, "before": o.verdict, "after": t.verdict, "reason": t.reason}
        if o.verdict == PASS and t.verdict == FAIL:
            d.regressions.append(row)
        elif o.verdict in (FAIL, WAIVED) and t.verdict == PASS:
            d.fixes.append(row)
        elif t.verdict == NOT_SUPPORTED:
            d.newly_unsupported.append(row)
        else:
            d.other_changes.append(row)
    d.removed_tests = sorted(set(before) - set(after))
    for template in sorted(set(older.shapes) & set(newer.shapes)):
        change = shape_change(template, older.shapes[template], newer.shapes[template])
        if change:
            d.shape.append(change)
    for key in sorted(set(older.latency) & set(newer.latency)):
        a, b = older.latency[key], newer.latency[key]
        if min(a.get("n", 0), b.get("n", 0)) < LATENCY_MIN_SAMPLES:
            continue
        lo, hi = sorted((a["p50"], b["p50"]))
        if hi - lo >= LATENCY_MIN_MS and hi >= LATENCY_RATIO * max(lo, 1e-3):
            d.latency.append(
                {
                    "resource": key,
                    "before_p50": a["p50"],
                    "after_p50": b["p50"],
                    "before_p95": a["p95"],
                    "after_p95": b["p95"],
                    "change": "slower" if b["p50"] > a["p50"] else "faster",
                }
            )
    return d


def _label(run: Run) -> str:
    return run.path or f"{run.model} {run.firmware} {run.started}"


def shape_change(template: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """Fields added, removed or renamed, namespace changes and changed first-read values of one resource."""
    was, now = set(old.get("paths", [])), set(new.get("paths", []))
    removed, added = _tops(was - now), _tops(now - was)
    renamed = []
    for r in sorted(removed):
        parent, _, leaf = r.rpartition("/")
        candidates = [a for a in sorted(added) if a.rpartition("/")[0] == parent]
        best = max(candidates, key=lambda a: _similar(leaf, a.rpartition("/")[2]), default=None)
        if best is not None and (
            _similar(leaf, best.rpartition("/")[2]) >= 0.6
            or (len(candidates) == 1 == len([x for x in removed if x.rpartition("/")[0] == parent]))
        ):
            renamed.append((r, best))
            added.discard(best)
    for r, _a in renamed:
        removed.discard(r)
    ns_old, ns_new = set(old.get("namespaces", [])), set(new.get("namespaces", []))
    values = []
    ov, nv = old.get("values", {}), new.get("values", {})
    for path in sorted(set(ov) & set(nv)):
        if ov[path] != nv[path] and not VOLATILE.search(path.rpartition("/")[2]):
            values.append((path, ov[path], nv[path]))
    change = {
        "resource": template,
        "added": sorted(added),
        "removed": sorted(removed),
        "renamed": renamed,
        "namespaces_added": sorted(ns_new - ns_old),
        "namespaces_removed": sorted(ns_old - ns_new),
        "values": values,
    }
    return change if any(v for k, v in change.items() if k != "resource") else None


def _tops(paths: set[str]) -> set[str]:
    """Only the topmost of a subtree that appeared or vanished as a whole."""
    return {p for p in paths if p.rpartition("/")[0] not in paths}


def _similar(a: str, b: str) -> float:
    return 1.0 if a.lower() == b.lower() else difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()
