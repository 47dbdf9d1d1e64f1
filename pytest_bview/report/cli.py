"""`bview-report`: compare two runs, verify a run, rebuild the index.

    bview-report diff RUN_A RUN_B     exit 1 when RUN_B has regressions against RUN_A (CI)
    bview-report verify RUN           exit 1 when RUN is incomplete or was changed
    bview-report index [REPORT_DIR]   rewrite REPORT_DIR/index.html from the runs there

RUN is a run directory (reports/<model>/<firmware>/<timestamp>) or its results.json.
Exit status 2: a RUN cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pytest_bview.report import model as m
from pytest_bview.report.diff import diff_runs
from pytest_bview.report.runs import baseline_basis, write_index
from pytest_bview.report.verify import verify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bview-report", description="B-View 2 conformance reports.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("diff", help="What changed from RUN_A (older) to RUN_B (newer); exit 1 on regressions.")
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--json", action="store_true", help="Print the diff as JSON.")
    p = sub.add_parser("verify", help="Check a run directory is complete and untampered; exit 1 if not.")
    p.add_argument("run")
    p = sub.add_parser("index", help="Rewrite REPORT_DIR/index.html.")
    p.add_argument("report_dir", nargs="?", default="reports")
    args = parser.parse_args(argv)

    if args.command == "diff":
        try:
            older, newer = m.Run.load(args.run_a), m.Run.load(args.run_b)
        except (OSError, ValueError, TypeError) as exc:
            print(f"bview-report: cannot read a run: {exc}", file=sys.stderr)
            return 2
        basis = baseline_basis(newer, older)
        d = diff_runs(older, newer, basis=f"RUN_A is {basis}" if basis else "")
        print(json.dumps(d.to_dict(), indent=1) if args.json else d.text())
        return d.exit_status()
    if args.command == "verify":
        v = verify(args.run)
        print(v.text())
        return 0 if v.ok else 1
    print(write_index(Path(args.report_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
