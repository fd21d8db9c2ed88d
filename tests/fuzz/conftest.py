"""`make fuzz` wants to know how many cases a campaign tried."""

from __future__ import annotations

import pytest

from tests.fuzz.common import CASES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CASES["tried"]:
        terminalreporter.write_line(f"fuzz: {CASES['tried']} cases tried")
