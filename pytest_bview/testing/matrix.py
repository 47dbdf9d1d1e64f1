"""The fault matrix: the reference camera's fault profiles joined to the suites' checks on rule ids; the
published tables docs/FAULTS.md and docs/RULES.md.

Rule 1: a fault names the rule it breaks (`Fault.rule`); the checks that must detect it are the checks naming
        that rule with `@pytest.mark.bview_rule`, read from suites/ here. The camera never names a check.
Rule 2: a fault without cases must make each of those checks fail (in at least one parametrized case); a fault
        with cases must make each collected test of those checks whose case label is listed fail (a check that
        has none of the labels is not asked).
Rule 3: a hostile profile breaks no rule, it attacks the client: the checks that meet each attack are chosen
        here (`HOSTILE_PROBES`), and tests/test_hostile.py requires each to end in one clear verdict.
Rule 4: both tables are generated, never edited: `python -m pytest_bview.testing.matrix --markdown` writes
        docs/FAULTS.md and docs/RULES.md, `--check` fails when either is not current (CI).
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from pytest_bview.simulator.catalog import load_all
from pytest_bview.simulator.faults import Fault
from pytest_bview.spec.rules import RULES, checks_by_rule

ROOT = Path(__file__).resolve().parents[2]

# The checks each hostile HTTP profile is run against: a header check, a status code, a schema, a refused PUT.
HTTP_PROBES = (
    "suites/test_protocol.py::test_xml_content_type[/Images/1/Color]",
    "suites/test_protocol.py::test_unknown_url",
    "suites/test_schema.py::test_get_matches_schema[GET /Images/1/Color]",
    "suites/test_protocol.py::test_malformed_xml[unclosed root]",
)
BODY_PROBES = HTTP_PROBES[1:]  # the Content-Type check judges the label alone, which a body attack leaves right
XML_PROBES = HTTP_PROBES[2:]  # a bare 404 passes test_unknown_url (ERRATA L7) whatever its body
HOSTILE_PROBES: dict[str, tuple[str, ...]] = {
    "hostile-slow-trickle": HTTP_PROBES,
    "hostile-endless-body": HTTP_PROBES,
    "hostile-gigabyte": BODY_PROBES,
    "hostile-xml-bomb": BODY_PROBES,
    "hostile-xml-external-entity": BODY_PROBES,
    "hostile-invalid-utf8": XML_PROBES,
    "hostile-wrong-content-length": HTTP_PROBES,
    "hostile-connection-reset": HTTP_PROBES,
    "hostile-redirect-loop": HTTP_PROBES,
    "hostile-mjpeg-endless": ("suites/test_media.py::test_mjpeg_multipart",),
}


@functools.cache
def _checks(root: Path = ROOT) -> dict[str, list[str]]:
    return checks_by_rule(root)


def checks_of(fault: Fault, root: Path = ROOT) -> list[str]:
    """The checks that must detect `fault`: those naming its rule (Rule 1), or its probes (Rule 3)."""
    if fault.hostile:
        return sorted({p.split("[")[0] for p in HOSTILE_PROBES.get(fault.name, ())})
    return list(_checks(root).get(fault.rule, []))


def detected_by(fault: Fault, collected: Collection[str] | None = None, root: Path = ROOT) -> tuple[str, ...]:
    """The test ids that must fail under `fault` (Rule 2): check ids (any parametrized case counts) for a fault
    without cases; with cases, the collected tests of those checks whose case is listed (`collected`: the
    suites' test ids; without it, every check x case pair, which may name tests that do not exist)."""
    if fault.hostile:
        return HOSTILE_PROBES.get(fault.name, ())
    checks = checks_of(fault, root)
    if not fault.cases:
        return tuple(checks)
    if collected is None:
        return tuple(f"{c}[{case}]" for c in checks for case in fault.cases)
    wanted = set(fault.cases)
    return tuple(
        n
        for n in sorted(collected)
        if n.endswith("]") and n.split("[", 1)[0] in checks and n.split("[", 1)[1][:-1] in wanted
    )


@functools.cache
def collected_suites(root: Path = ROOT) -> frozenset[str]:
    """Every test id of suites/ (a collection without a camera: parametrization needs none)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--rootdir={root}",
            "suites",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ids = frozenset(line.strip() for line in out.stdout.splitlines() if line.startswith("suites/") and "::" in line)
    if not ids:
        raise RuntimeError(f"collecting suites/ found no tests (exit {out.returncode}): {out.stdout[-2000:]}")
    return ids


# -- the published tables --------------------------------------------------------------------------------------


def suite_checks(root: Path = ROOT) -> list[str]:
    """Every check of the suites: "suites/test_x.py::test_y" for each module-level test function."""
    import ast

    found = []
    for module in sorted((root / "suites").glob("test_*.py")):
        tree = ast.parse(module.read_text("utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                found.append(f"suites/{module.name}::{node.name}")
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _codes(items: Iterable[str]) -> str:
    return "<br>".join(f"`{_cell(i)}`" for i in items) or "—"


def faults_markdown(root: Path = ROOT) -> str:
    """docs/FAULTS.md: profile -> spec section -> rule (level) -> cases -> the checks that must detect it."""
    faults = list(load_all().values())
    plain = [f for f in faults if not f.hostile]
    hostile = [f for f in faults if f.hostile]
    checks = suite_checks(root)
    proven = {c for f in plain for c in checks_of(f, root)}
    missing = [c for c in checks if c not in proven]
    unknown = sorted({f.name for f in plain if not checks_of(f, root)})
    lines = [
        "# Fault-detection matrix",
        "",
        "Generated by `python -m pytest_bview.testing.matrix --markdown`; do not edit by hand",
        "(`python -m pytest_bview.testing.matrix --check` fails in CI when this file and the code disagree).",
        "",
        "Each fault profile of the reference camera (`bview-sim --fault NAME`, `--bview-sim-fault NAME`) breaks one",
        "rule of `docs/RULES.md`, where its cases are given, only in those cases. The checks that must detect it are",
        "the checks naming that rule: `tests/test_fault_matrix.py` runs them with the profile on and requires each of",
        "them to fail, and `pytest suites` requires the conformant camera to pass them all. The camera names rules,",
        "never checks. Hostile profiles break no rule, they attack the client; `tests/test_hostile.py` requires each",
        "check that meets the attack to end in one clear verdict within its deadline and bounded memory. Profiles",
        "marked *(netns rig)* need a real network (a DHCP server) to be seen; `tests/test_network_identity_netns.py`",
        "proves them there.",
        "",
        "## Counts",
        "",
        f"- checks (check functions in `suites/`): {len(checks)}",
        f"- fault profiles: {len(plain)} (+ {len(hostile)} hostile), breaking {len({f.rule for f in plain})} rules",
        f"- checks proven able to fail (naming the rule of a profile, detected in `tests/test_fault_matrix.py`): "
        f"{len(checks) - len(missing)} of {len(checks)}",
        f"- checks without a profile yet: {len(missing)}",
        f"- profiles whose rule no check names: {len(unknown)}",
        "",
        "## Profiles",
        "",
        "| profile | spec section | what the faulty camera does | rule it breaks | cases | checks that must detect it |",
        "|---|---|---|---|---|---|",
    ]
    for f in plain:
        rig = f" *({f.rig} rig)*" if f.rig else ""
        level = RULES[f.rule].level if f.rule in RULES else "?"
        cases = "<br>".join(_cell(c) for c in f.cases) or "all"
        lines.append(
            f"| `{f.name}` | {f.section} | {_cell(f.doc)}{rig} | `{f.rule}` ({level}) | {cases} | "
            f"{_codes(checks_of(f, root))} |"
        )
    lines += [
        "",
        "## Hostile profiles",
        "",
        "| profile | spec section | what the hostile camera does | must end in a clear verdict |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{f.name}` | {f.section} | {_cell(f.doc)} | {_codes(HOSTILE_PROBES.get(f.name, ()))} |" for f in hostile
    ]
    lines += ["", "## Checks without a profile", ""]
    lines += [f"- `{_cell(c)}`" for c in missing] or ["None: every check is proven able to fail."]
    if unknown:
        lines += ["", "## Profiles whose rule no check names", ""] + [f"- `{n}`" for n in unknown]
    return "\n".join(lines) + "\n"


def rules_markdown(root: Path = ROOT) -> str:
    """docs/RULES.md (spec/rules.py's table with the checks, faults and variants of each rule)."""
    from pytest_bview.simulator.variants import VARIANTS
    from pytest_bview.spec.rules import markdown

    plain = {n: f for n, f in load_all().items() if not f.hostile}
    return markdown(root, plain, VARIANTS)


PUBLISHED: dict[str, Any] = {"docs/FAULTS.md": faults_markdown, "docs/RULES.md": rules_markdown}


def main(argv: list[str]) -> int:
    if argv == ["--markdown"]:
        for name, make in PUBLISHED.items():
            (ROOT / name).write_text(make(ROOT), encoding="utf-8")
            print(f"wrote {name}")
        return 0
    if argv == ["--check"]:
        stale = [
            n for n, make in PUBLISHED.items() if not (ROOT / n).exists() or (ROOT / n).read_text("utf-8") != make(ROOT)
        ]
        for name in stale:
            print(f"{name} is not current: python -m pytest_bview.testing.matrix --markdown")
        return 1 if stale else 0
    print("usage: python -m pytest_bview.testing.matrix --markdown | --check")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
