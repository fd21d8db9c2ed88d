"""Config errors: every problem names file:line:col and says what was expected, in plain words."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from emulator.config.model import Location


class ConfigIssue(msgspec.Struct, frozen=True):
    location: Location | None
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ConfigError(Exception):
    """A config file that cannot be used. Holds every issue found, in file order."""

    def __init__(
        self, issues: list[ConfigIssue], *, nodes: Mapping[str, str | None] | None = None
    ) -> None:
        self.issues = issues
        # The nodes the file names (alias -> `api:` as written), so a request for one of them
        # can be told it is in the file but not loaded.
        self.nodes: Mapping[str, str | None] = nodes or {}
        super().__init__("\n".join(str(issue) for issue in issues))

    def summary(self) -> str:
        """The first issue on one line, and how many more there are."""
        if not self.issues:
            return "the config cannot be used"
        more = len(self.issues) - 1
        return str(self.issues[0]) + (f" (and {more} more)" if more else "")

    def as_dicts(self) -> list[dict[str, object]]:
        return [
            {
                "file": issue.location.file if issue.location else None,
                "line": issue.location.line if issue.location else None,
                "column": issue.location.column if issue.location else None,
                "message": issue.message,
            }
            for issue in self.issues
        ]
