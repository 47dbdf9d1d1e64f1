"""`bview-report verify RUN`: is a run directory complete and untampered?

Rule 1: complete means results.json, report.html, junit.xml and declaration.html are present, results.json
        parses, carries the tool version and identity, and every test entry has an id, a known verdict,
        a section field and a duration; its counts agree with its entries.
Rule 2: untampered means every file results.json lists has the SHA-256 it lists, and results.json's own
        content still has the digest it was written with (results_sha256). This detects edits and
        corruption, not a forger who recomputes the digests: sign the directory for that.
Rule 3: files nobody listed (a screenshot saved later) are reported as notes, not problems.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pytest_bview.report import model as m
from pytest_bview.verdicts import VERDICTS


@dataclass
class Verification:
    directory: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = f"{self.directory}: {'OK' if self.ok else 'FAILED'}"
        return "\n".join([head] + [f"problem: {p}" for p in self.problems] + [f"note: {n}" for n in self.notes])


def verify(where: str | Path) -> Verification:
    directory = Path(where)
    if directory.name == m.RESULTS:
        directory = directory.parent
    v = Verification(directory)
    for name in m.REQUIRED_FILES:
        if not (directory / name).is_file():
            v.problems.append(f"{name} is missing")
    try:
        doc = json.loads((directory / m.RESULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        v.problems.append(f"{m.RESULTS} cannot be read: {exc}")
        return v
    if doc.get("format") != m.FORMAT:
        v.problems.append(f"{m.RESULTS} is not in the format {m.FORMAT!r}")
    if doc.get("results_sha256") != m.canonical_digest(doc):
        v.problems.append(f"{m.RESULTS} was changed after it was written (its digest does not match)")
    if not doc.get("tool", {}).get("version"):
        v.problems.append("the tool version is missing")
    if not doc.get("identity", {}).get("DeviceTypeName"):
        v.problems.append("the device identity is missing")
    tests = doc.get("tests")
    if not isinstance(tests, list) or not tests:
        v.problems.append("no test entries")
        tests = []
    for i, t in enumerate(tests):
        missing = [k for k in ("id", "verdict", "section", "duration") if k not in t]
        if missing:
            v.problems.append(f"test entry {i + 1} lacks {', '.join(missing)}")
        elif t["verdict"] not in VERDICTS:
            v.problems.append(f"test {t['id']}: unknown verdict {t['verdict']!r}")
    counted = Counter(t.get("verdict") for t in tests)
    if {k: n for k, n in doc.get("counts", {}).items() if n} != {k: n for k, n in counted.items() if n}:
        v.problems.append("the counts do not match the test entries")
    files = doc.get("files", {})
    for name in m.REQUIRED_FILES:
        if name != m.RESULTS and name not in files:
            v.problems.append(f"{m.RESULTS} lists no hash for {name}")
    for name, digest in files.items():
        path = directory / name
        if "/" in name or name.startswith("."):
            v.problems.append(f"{m.RESULTS} lists a file outside the run directory: {name}")
        elif not path.is_file():
            v.problems.append(f"{name} is listed but missing")
        elif m.sha256(path) != digest:
            v.problems.append(f"{name} does not match its SHA-256 (changed after the run)")
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.name != m.RESULTS and path.name not in files:
            v.notes.append(f"{path.name} is not covered by {m.RESULTS} (added after the run)")
    return v
