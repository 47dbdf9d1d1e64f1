"""The console side a QA engineer meets: --lf/--ff, `bview-conformance --help`, output cut short by `| head`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = "import sys; from pytest_bview.conformance import main; sys.exit(main())"
SIM = "import sys; from pytest_bview.simulator.cli import main; sys.exit(main())"
# one schema check that the fault breaks and one it leaves alone
SELECT = [
    "-m",
    "schema",
    "-k",
    "test_get_matches_schema and (Color or NTP)",
    "--bview-sim-fault",
    "schema-missing-required",
]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BVIEW_")}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)


def _rerun_only_failures(first: subprocess.CompletedProcess[str], again: subprocess.CompletedProcess[str]) -> None:
    assert first.returncode == 1 and "1 failed, 1 passed" in first.stdout, first.stdout[-2000:]
    assert again.returncode == 1, again.stdout[-2000:]
    assert "run-last-failure: rerun previous 1 failure" in again.stdout, again.stdout[-2000:]
    assert "= 1 failed" in again.stdout and "passed" not in again.stdout.splitlines()[-1], again.stdout[-2000:]


def test_last_failed_in_the_repository(tmp_path: Path) -> None:
    """`pytest suites --lf` re-runs only the last run's failures (the repository's ini leaves the cache on)."""
    cmd = [sys.executable, "-m", "pytest", "suites", "-o", f"cache_dir={tmp_path / 'cache'}", *SELECT]
    first = _run(cmd, ROOT)
    again = _run([*cmd, "--lf"], ROOT)
    _rerun_only_failures(first, again)


def test_last_failed_with_bview_conformance(tmp_path: Path) -> None:
    """`bview-conformance --lf` too; its cache is the working directory's .pytest_cache, not the suites folder."""
    cmd = [sys.executable, "-c", CONFORMANCE, *SELECT, "--bview-report-dir", str(tmp_path / "r")]
    first = _run(cmd, tmp_path)
    again = _run([*cmd, "--lf"], tmp_path)
    _rerun_only_failures(first, again)
    assert (tmp_path / ".pytest_cache" / "v" / "cache" / "lastfailed").is_file()
    assert "PytestAssertRewriteWarning" not in first.stdout + first.stderr


def test_bview_conformance_help_names_itself(tmp_path: Path) -> None:
    done = _run([sys.executable, "-c", CONFORMANCE, "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: bview-conformance "), done.stdout[:300]
    assert "pytest.main()" not in done.stdout
    bad = _run([sys.executable, "-c", CONFORMANCE, "--no-such-option"], tmp_path)
    assert bad.returncode == 4 and "bview-conformance: error: unrecognized arguments" in bad.stderr, bad.stderr


@pytest.mark.parametrize(
    "args",
    [[SIM, "--list-faults"], [CONFORMANCE, "--help"]],
    ids=["bview-sim --list-faults", "bview-conformance --help"],
)
def test_reader_gone_ends_quietly(tmp_path: Path, args: list[str]) -> None:
    """`... | head`: when the reader has closed the pipe, the command ends without a BrokenPipeError."""
    read, write = os.pipe()
    os.close(read)  # a reader that stopped before the first line: every write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-c", *args], cwd=tmp_path, env=_env(), stdout=write, stderr=subprocess.PIPE, timeout=120
        )
    finally:
        os.close(write)
    stderr = done.stderr.decode(errors="replace")
    assert "BrokenPipeError" not in stderr and "Traceback" not in stderr, stderr[-2000:]
    assert done.returncode == 1
