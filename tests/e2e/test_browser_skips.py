"""Without Chromium or Playwright, the browser tests are skipped and the closing line says why."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONPATH")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/browser",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _closing_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.strip().splitlines()[-1]


def test_without_chromium_the_closing_line_says_the_browser_tests_were_skipped(
    tmp_path: Path,
) -> None:
    result = _pytest(tmp_path, EMULATOR_CHROMIUM=str(tmp_path / "no-chromium"))
    assert result.returncode == 0, result.stdout + result.stderr
    line = _closing_line(result)
    assert re.search(r"(\d+) skipped, \1 browser tests skipped \(.*no-chromium not found; ", line)
    assert "apt-get install -y chromium" in line
