"""`bview-conformance`: the packaged suites against a camera, with the plugin's options.

    bview-conformance --bview-host 192.168.1.46 --bview-level readonly
    bview-conformance -m images                      # one area, against the built-in camera
    bview-conformance --bview-inventory cams.toml -n 4

Every argument goes to pytest after the suites folder: the same `--bview-*` options, markers and
pytest flags as `pytest suites` in the repository. The suites are the ones shipped in the wheel
(`pytest_bview/_suites`), or the repository's `suites/` when running from a checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    import pytest

    args = list(sys.argv[1:] if argv is None else argv)
    suites = suites_dir()
    # The repository's ini settings (pyproject.toml) that the suites rely on, restated for an installed
    # kit; the suites folder may sit in site-packages, so no cache is written there, and the rootdir is
    # pinned to it so that test ids read as in the repository's reports (test_config.py::...).
    pinned = ["-p", "no:cacheprovider", "-o", "xfail_strict=true", "--rootdir", str(suites)]
    return int(pytest.main([str(suites), *pinned, *args]))


if __name__ == "__main__":
    sys.exit(main())
