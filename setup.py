"""Build step only (metadata lives in pyproject.toml): ship suites/ and schemas/ inside the wheel.

They become the package data folders `pytest_bview/_suites` and `pytest_bview/_schemas`, which
`bview-conformance` (pytest_bview/conformance.py) and `pytest_bview.spec.xsd.schemas_dir` use when
the repository's own folders are not there. An editable install keeps using the repository's folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"suites": "_suites", "schemas": "_schemas"}  # repository folder -> folder inside pytest_bview/
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")


class BuildWithSuites(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in SHIPPED.items():
            dest = Path(self.build_lib) / "pytest_bview" / target
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(ROOT / source, dest, ignore=SKIP)


setup(cmdclass={"build_py": BuildWithSuites})
