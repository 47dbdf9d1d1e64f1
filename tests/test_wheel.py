"""The installable kit: the wheel carries the suites, the schemas and the entry points, and works from a
fresh virtual environment outside the repository (issue 9).

One wheel and one venv serve the module (built from a copy of the sources, so the checkout gets no
build/ folder). The venv sees the site-packages of the environment running the tests only to avoid
downloading the dependencies again; the kit itself is installed from the wheel and must be imported from
there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "pytest_bview", "suites", "schemas")
pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BVIEW_") and k != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".hypothesis", "build")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheelhouse")
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, "."], cwd=src)
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    (found,) = out.glob("pytest_bview-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv") / "kit"
    done = _run([sys.executable, "-m", "venv", home], cwd=home.parent)
    assert done.returncode == 0, done.stderr
    # The dependencies come from the environment running these tests (a venv or the system's), appended
    # after the new venv's own site-packages; path lines only, so the checkout's editable hook stays out.
    (site,) = (home / "lib").glob("python3*/site-packages")
    (site / "_tested_env.pth").write_text("\n".join(p for p in sys.path if p.endswith("-packages")) + "\n")
    done = _run([home / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", wheel], cwd=home.parent)
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return home


def test_wheel_carries_suites_schemas_and_entry_points(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        eps = z.read(entry_points).decode()
    suites = {f"pytest_bview/_suites/{p.name}" for p in (ROOT / "suites").glob("test_*.py")}
    schemas = {
        f"pytest_bview/_schemas/{p.relative_to(ROOT / 'schemas').as_posix()}" for p in (ROOT / "schemas").rglob("*.xsd")
    }
    schemas |= {"pytest_bview/_schemas/index.json", "pytest_bview/_schemas/INDEX.md"}
    assert suites and suites <= names, f"suites missing from the wheel: {sorted(suites - names)}"
    assert schemas and schemas <= names, f"schemas missing from the wheel: {sorted(schemas - names)}"
    assert "pytest_bview/_schemas/ERRATA.md" in names
    assert "pytest_bview/py.typed" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "bview-conformance = pytest_bview.conformance:main" in eps
    assert "bview-sim = pytest_bview.simulator.cli:main" in eps
    assert "[pytest11]" in eps and "bview = pytest_bview.plugin" in eps


def test_kit_is_imported_from_the_venv_not_the_checkout(venv: Path, tmp_path: Path) -> None:
    code = "import pytest_bview.conformance as c, pytest_bview.spec.xsd as x; print(c.suites_dir()); print(x.schemas_dir())"
    done = _run([venv / "bin" / "python", "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    suites, schemas = done.stdout.split()
    assert suites.startswith(str(venv)) and suites.endswith("_suites"), suites
    assert schemas.startswith(str(venv)) and schemas.endswith("_schemas"), schemas


def test_bview_conformance_help(venv: Path, tmp_path: Path) -> None:
    done = _run([venv / "bin" / "bview-conformance", "--help"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: bview-conformance "), done.stdout[:200]
    assert "B-View 2 conformance" in done.stdout
    for flag in ("--bview-host", "--bview-level", "--bview-inventory", "--bview-sim-count"):
        assert flag in done.stdout


def test_bview_sim_list_faults(venv: Path, tmp_path: Path) -> None:
    done = _run([venv / "bin" / "bview-sim", "--list-faults"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 5 and all(len(line.split()) >= 2 for line in lines)


def test_packaged_suites_run_against_the_builtin_camera(venv: Path, tmp_path: Path) -> None:
    """The packaged schema suite validates with the packaged XSDs (no checkout anywhere on the path)."""
    done = _run(
        [venv / "bin" / "bview-conformance", "-q", "-m", "schema", "--bview-report-dir", "r"],
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert "/_suites/" not in done.stdout  # test ids are relative to the suites folder, as in the repository
    assert "PytestAssertRewriteWarning" not in done.stdout + done.stderr
