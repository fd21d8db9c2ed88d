"""Typed reads of located YAML values that record what is wrong instead of stopping.

Each read returns the Python value, or None after recording an issue (or when the value is absent:
YAML `null` counts as absent, so a node can write `rate_limit: null` to drop a default). Messages
name the key and say what was expected and what was found; the location says where.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TypeVar

from emulator.config.errors import ConfigIssue
from emulator.config.model import Location
from emulator.config.yamlnodes import YEntry, YMap, YScalar, YSeq, YValue

T = TypeVar("T", bound=str)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """The hint "; did you mean 'x'?" for the closest option, or "" when nothing is close."""
    from difflib import get_close_matches  # difflib loads on a miss: 1.7 ms of start-up otherwise

    close = get_close_matches(word, list(options), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def describe(value: YValue) -> str:
    """What a value is, for "expected X, got Y"."""
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YSeq):
        return "a list"
    inner = value.value
    if inner is None:
        return "an empty value"
    if isinstance(inner, bool):
        return f"true/false ({value.raw})"
    if isinstance(inner, int):
        return f"an integer ({value.raw})"
    if isinstance(inner, float):
        return f"a number ({value.raw})"
    if isinstance(inner, date):
        return f"a date ({value.raw})"
    if isinstance(inner, bytes):
        return "binary data"
    shown = value.raw if len(value.raw) <= 40 else value.raw[:37] + "..."
    return f"a string ('{shown}')"


def _is_null(value: YValue | None) -> bool:
    return value is None or (isinstance(value, YScalar) and value.value is None)


class Checker:
    """Collects issues; its reads never raise."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[ConfigIssue] = []

    def error(self, loc: Location | None, message: str) -> None:
        self.issues.append(ConfigIssue(loc, message))

    def expected(self, key: str, what: str, value: YValue) -> None:
        self.error(value.loc, f"{key}: expected {what}, got {describe(value)}")

    # -- structure -------------------------------------------------------------------------

    def mapping(self, value: YValue | None, key: str, allowed: Sequence[str]) -> YMap | None:
        """A mapping whose keys are all in `allowed`; unknown keys are reported with a hint."""
        if value is None or _is_null(value):
            return None
        if not isinstance(value, YMap):
            self.expected(key, "a mapping", value)
            return None
        for name, entry in value.entries.items():
            if name not in allowed:
                hint = did_you_mean(name, allowed)
                self.error(entry.key_loc, f"unknown key '{name}' in {key}{hint}")
        return value

    def items(self, value: YValue | None, key: str) -> tuple[YValue, ...] | None:
        if value is None or _is_null(value):
            return None
        if not isinstance(value, YSeq):
            self.expected(key, "a list", value)
            return None
        return value.items

    @staticmethod
    def get(mapping: YMap | None, key: str) -> YValue | None:
        """The value under `key`, or None when absent or null."""
        entry = mapping.entries.get(key) if mapping is not None else None
        return None if entry is None or _is_null(entry.value) else entry.value

    @staticmethod
    def entry(mapping: YMap | None, key: str) -> YEntry | None:
        return mapping.entries.get(key) if mapping is not None else None

    def require(self, mapping: YMap, key: str, where: str, hint: str = "") -> YValue | None:
        """The value under `key`, reporting it missing (at the mapping) when absent or null."""
        value = self.get(mapping, key)
        if value is None:
            entry = mapping.entries.get(key)
            loc = entry.key_loc if entry is not None else mapping.loc
            self.error(loc, f"{where} is missing `{key}:`{hint}")
        return value

    # -- scalars ---------------------------------------------------------------------------

    def string(self, value: YValue | None, key: str, *, empty: bool = False) -> str | None:
        """A string. Unquoted numbers are taken as written (`equals: 42` means "42")."""
        if value is None or _is_null(value):
            return None
        if isinstance(value, YScalar):
            inner = value.value
            text = inner if isinstance(inner, str) else None
            if isinstance(inner, int | float) and not isinstance(inner, bool):
                text = value.raw
            if text is not None and (text or empty):
                return text
            if text == "":
                self.error(value.loc, f"{key}: expected a non-empty string")
                return None
        self.expected(key, "a string", value)
        return None

    def strings(self, value: YValue | None, key: str) -> tuple[str, ...] | None:
        """A list of non-empty strings; a bad item is reported and left out."""
        items = self.items(value, key)
        if items is None:
            return None
        found = (self.string(item, key) for item in items)
        return tuple(text for text in found if text is not None)

    def boolean(self, value: YValue | None, key: str) -> bool | None:
        if value is None or _is_null(value):
            return None
        if isinstance(value, YScalar) and isinstance(value.value, bool):
            return value.value
        self.expected(key, "true or false", value)
        return None

    def integer(
        self, value: YValue | None, key: str, low: int | None = None, high: int | None = None
    ) -> int | None:
        if value is None or _is_null(value):
            return None
        inner = value.value if isinstance(value, YScalar) else None
        if not isinstance(inner, int) or isinstance(inner, bool):
            self.expected(key, _int_range(low, high), value)
            return None
        if (low is not None and inner < low) or (high is not None and inner > high):
            self.error(value.loc, f"{key}: expected {_int_range(low, high)}, got {inner}")
            return None
        return inner

    def number(
        self,
        value: YValue | None,
        key: str,
        low: float | None = None,
        high: float | None = None,
        *,
        above: bool = False,
    ) -> float | None:
        """A number (integer or decimal) in [low, high]; with `above`, strictly above `low`."""
        if value is None or _is_null(value):
            return None
        what = _number_range(low, high, above)
        inner = value.value if isinstance(value, YScalar) else None
        if not _finite_number(inner) or not isinstance(value, YScalar):
            self.expected(key, what, value)
            return None
        assert isinstance(inner, int | float)
        too_low = low is not None and (inner <= low if above else inner < low)
        if too_low or (high is not None and inner > high):
            self.error(value.loc, f"{key}: expected {what}, got {value.raw}")
            return None
        return float(inner)

    def choice(self, value: YValue | None, key: str, choices: Sequence[T]) -> T | None:
        """One of `choices`, returned as the choice itself (so Literal types survive)."""
        text = self.string(value, key)
        if text is None or value is None:
            return None
        for option in choices:
            if option == text:
                return option
        listed = " | ".join(choices)
        hint = did_you_mean(text, choices)
        self.error(value.loc, f"{key}: expected one of {listed}, got '{text}'{hint}")
        return None


def _finite_number(inner: object) -> bool:
    return isinstance(inner, int | float) and not isinstance(inner, bool) and math.isfinite(inner)


def _int_range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"an integer from {low} to {high}"
    if low is not None:
        return f"an integer >= {low}"
    return "an integer"


def _number_range(low: float | None, high: float | None, above: bool) -> str:
    if low is not None and high is not None:
        return f"a number from {low:g} to {high:g}"
    if low is not None:
        return f"a number {'>' if above else '>='} {low:g}"
    return "a number"
