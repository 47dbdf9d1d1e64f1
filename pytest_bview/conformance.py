"""`bview-conformance`: the packaged suites against a camera, with the plugin's options.

    bview-conformance --bview-host 192.168.1.46 --bview-level readonly
    bview-conformance -m images                      # one area, against the built-in camera
    bview-conformance --bview-inventory cams.toml -n 4

Every argument goes to pytest after the suites folder: the same `--bview-*` options, markers and
pytest flags as `pytest suites` in the repository. The suites are the ones shipped in the wheel
(`pytest_bview/_suites`), or the repository's `suites/` when running from a checkout. `--lf` and
`--ff` re-run the last run's failures: the cache lives in `.pytest_cache` of the working directory.

PYTEST_DONT_REWRITE: this module and the package are imported before pytest starts, so pytest could
not rewrite their asserts anyway (they have none) and would warn that it cannot.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_bview.console import quiet_broken_pipe

PACKAGE = Path(__file__).resolve().parent


def suites_dir() -> Path:
    """The suites shipped in the wheel, else the checkout's suites/ (editable install)."""
    shipped = PACKAGE / "_suites"
    if shipped.is_dir():
        return shipped
    checkout = PACKAGE.parent / "suites"
    if checkout.is_dir():
        return checkout
    raise SystemExit("bview-conformance: no suites found (neither pytest_bview/_suites nor ../suites)")


PROG = "bview-conformance"
USAGE = f"{PROG} [--bview-* options] [pytest options, e.g. -m images, -k Color, --lf, -n 4]"


class _Usage:
    """`--help` and usage errors name this program, not `pytest.main()`."""

    @staticmethod
    def pytest_addoption(parser: object) -> None:
        parser.prog = PROG  # type: ignore[attr-defined]
        parser.optparser.usage = USAGE  # type: ignore[attr-defined]


@quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    import pytest

    args = list(sys.argv[1:] if argv is None else argv)
    suites = suites_dir()
    # The repository's ini settings (pyproject.toml) that the suites rely on, restated for an installed
    # kit; the suites folder may sit in site-packages, so the cache is written to the working directory
    # instead, and the rootdir is pinned to it so that test ids read as in the repository's reports.
    cache = Path.cwd() / ".pytest_cache"
    pinned = ["-o", f"cache_dir={cache}", "-o", "xfail_strict=true", "--rootdir", str(suites)]
    return int(pytest.main([str(suites), *pinned, *args], plugins=[_Usage()]))


if __name__ == "__main__":
    sys.exit(main())
