"""Known deviations per model and firmware range (--bview-expectations FILE, TOML).

    [[expect]]
    model = "BV-IPC2-5MP"            # DeviceTypeName; "*" for any
    firmware = ">=1.1, <2"           # "*", "1.1", "1.1.*" or comparisons joined by commas
    test = "suites/test_config.py::test_round_trip[PUT /Images/1/Color]"
    verdict = "fail"                 # fail (waived when it fails), not supported, inconclusive
    reason = "stores Brightness late"
    link = "https://tracker.example/BV-123"

Rule 1: a test the file expects to fail and that fails is "waived" (shown like an xfail, not a
        failure); one expected to fail that passes is flagged "unexpected pass".
Rule 2: `--bview-update-expectations` rewrites the entries that applied to the run: still failing
        ones keep their range, reason and link; a new failure is added for this firmware and the rest
        of its major version (">=2.0.1, <3"), so the next build of the branch carries it; a fixed one
        ends before this firmware (">=2.0.1, <2.0.4"), or goes when it named only this firmware.
        Entries for other models or firmware are kept as they were.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from pytest_bview.verdicts import FAIL, VERDICTS

_CMP = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


class ExpectationsError(Exception):
    """The expectations file cannot be used (unreadable, not TOML, bad entry)."""


@dataclass(frozen=True)
class Expectation:
    model: str
    firmware: str
    test: str
    verdict: str = FAIL
    reason: str = ""
    link: str = ""

    def applies(self, model: str, firmware: str) -> bool:
        return fnmatch.fnmatchcase(model, self.model) and firmware_matches(firmware, self.firmware)

    def names(self, test_id: str) -> bool:
        return self.test == test_id or short_id(self.test) == short_id(test_id)

    def as_dict(self) -> dict[str, str]:
        return {"verdict": self.verdict, "reason": self.reason, "link": self.link, "firmware": self.firmware}


def short_id(test_id: str) -> str:
    """A test id without its directory ("suites/test_x.py::t[a/b]" -> "test_x.py::t[a/b]")."""
    file, sep, rest = test_id.partition("::")
    return file.rsplit("/", 1)[-1] + sep + rest


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-_+]", version.strip()) if p)


def firmware_matches(firmware: str, spec: str) -> bool:
    spec = spec.strip()
    if spec in ("", "*"):
        return True
    parts = [p for p in spec.split(",") if p.strip()]
    if not all(_CMP.match(p) for p in parts):
        return fnmatch.fnmatchcase(firmware, spec)
    have = version_key(firmware)
    for part in parts:
        op, ver = _CMP.match(part).groups()  # type: ignore[union-attr]
        want = version_key(ver)
        ok = {
            ">=": have >= want,
            "<=": have <= want,
            ">": have > want,
            "<": have < want,
            "==": have == want,
            "!=": have != want,
        }[op]
        if not ok:
            return False
    return True


def branch_range(firmware: str) -> str:
    """This firmware and the later builds of its major version: "2.0.1" -> ">=2.0.1, <3" (Rule 2); a
    version without a leading number stays exact."""
    head = re.match(r"\s*(\d+)", firmware)
    if head is None or _CMP.match(f">={firmware}") is None:
        return firmware
    return f">={firmware.strip()}, <{int(head.group(1)) + 1}"


def ended_before(spec: str, firmware: str) -> str | None:
    """`spec` with its upper bound moved down to `firmware` (exclusive), or None when nothing before
    `firmware` is left in it (an exact version, a pattern, or a range that starts at this firmware)."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or not all(_CMP.match(p) for p in parts) or _CMP.match(f"<{firmware}") is None:
        return None
    lower = [p for p in parts if _CMP.match(p).group(1) in (">=", ">", "!=")]  # type: ignore[union-attr]
    narrowed = ", ".join([*lower, f"<{firmware.strip()}"])
    if not lower:
        return narrowed
    # some version must still match: the lower bounds are below this firmware
    for part in lower:
        op, ver = _CMP.match(part).groups()  # type: ignore[union-attr]
        if op in (">=", ">") and version_key(ver) >= version_key(firmware):
            return None
    return narrowed


@dataclass
class Expectations:
    entries: list[Expectation]
    path: Path | None = None

    @classmethod
    def load(cls, path: str | Path | None) -> Expectations:
        if not path:
            return cls([], None)
        p = Path(path)
        if not p.exists():
            return cls([], p)  # --bview-update-expectations creates it
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ExpectationsError(f"{p}: {exc}") from None
        entries = []
        for i, raw in enumerate(data.get("expect", [])):
            if not isinstance(raw, dict) or not isinstance(raw.get("test"), str):
                raise ExpectationsError(f"{p}: [[expect]] entry {i + 1} has no test id")
            verdict = raw.get("verdict", FAIL)
            if verdict not in VERDICTS:
                raise ExpectationsError(f"{p}: entry {raw['test']!r}: verdict {verdict!r} is not one of {VERDICTS}")
            entries.append(
                Expectation(
                    str(raw.get("model", "*")),
                    str(raw.get("firmware", "*")),
                    raw["test"],
                    verdict,
                    str(raw.get("reason", "")),
                    str(raw.get("link", "")),
                )
            )
        return cls(entries, p)

    def for_device(self, model: str, firmware: str) -> dict[str, Expectation]:
        """short test id -> the expectation applying to this device (the last listed wins)."""
        return {short_id(e.test): e for e in self.entries if e.applies(model, firmware)}

    def lookup(self, model: str, firmware: str, test_id: str) -> Expectation | None:
        return self.for_device(model, firmware).get(short_id(test_id))

    def updated(self, model: str, firmware: str, results: dict[str, str]) -> Expectations:
        """The file after a baseline run: `results` maps test id -> verdict (waived counts as fail)."""
        failing = {short_id(t): t for t, v in results.items() if v in (FAIL, "waived")}
        kept: list[Expectation] = []
        covered: set[str] = set()
        for e in self.entries:
            if not e.applies(model, firmware):
                kept.append(e)
            elif e.verdict == FAIL and short_id(e.test) in failing:
                kept.append(e)
                covered.add(short_id(e.test))
            elif e.verdict != FAIL and short_id(e.test) in {short_id(t) for t, v in results.items() if v == e.verdict}:
                kept.append(e)
                covered.add(short_id(e.test))
            else:  # fixed on this firmware: the entry still speaks for the builds before it
                earlier = ended_before(e.firmware, firmware)
                if earlier is not None:
                    kept.append(replace(e, firmware=earlier))
        for short, test in sorted(failing.items()):
            if short not in covered:
                reason = "baseline: failing when the baseline was taken"
                kept.append(Expectation(model, branch_range(firmware), test, FAIL, reason))
        return Expectations(kept, self.path)

    def dumps(self) -> str:
        lines = [
            "# pytest-bview expectations: known deviations per model and firmware (see pytest_bview/report/expectations.py)",
            "",
        ]
        for e in self.entries:
            lines.append("[[expect]]")
            for key in ("model", "firmware", "test", "verdict", "reason", "link"):
                value = getattr(e, key)
                if value or key in ("model", "firmware", "test", "verdict"):
                    lines.append(f"{key} = {_toml_string(value)}")
            lines.append("")
        return "\n".join(lines)

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path or self.path or "bview-expectations.toml")
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.dumps(), encoding="utf-8")
        tmp.replace(target)
        return target


def _toml_string(value: str) -> str:
    # JSON's escapes are valid TOML basic-string escapes as long as non-ASCII stays literal.
    return json.dumps(value, ensure_ascii=False)
