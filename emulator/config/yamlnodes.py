"""YAML text to a small tree of values that remember where they were written.

PyYAML's `compose` gives nodes with marks; we convert them ourselves so that every value keeps its
1-based line and column, duplicate keys are reported instead of silently dropped, and YAML errors
become `ConfigIssue`s in plain words. Nothing outside this module sees a PyYAML type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import yaml

from emulator.config.errors import ConfigIssue
from emulator.config.model import Location

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class YScalar:
    value: object  # str | int | float | bool | None, or a date for an unquoted date
    raw: str  # as written, e.g. "yes" for True
    loc: Location


@dataclass(frozen=True, slots=True)
class YEntry:
    key_loc: Location
    value: YValue


@dataclass(frozen=True, slots=True)
class YMap:
    entries: Mapping[str, YEntry]
    loc: Location


@dataclass(frozen=True, slots=True)
class YSeq:
    items: tuple[YValue, ...]
    loc: Location


YValue = YScalar | YMap | YSeq


def compose(text: str, source: str) -> tuple[YValue | None, list[ConfigIssue]]:
    """Parse one YAML document. None with an issue on a syntax error; None alone when empty."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return None, [syntax_issue(exc, source, text)]
    if root is None:
        return None, []
    converter = _Converter(source)
    return converter.convert(root), converter.issues


def deep_merge(base: YValue, over: YValue) -> YValue:
    """`over` on top of `base`: mappings merge key by key; anything else in `over` replaces."""
    if not (isinstance(base, YMap) and isinstance(over, YMap)):
        return over
    entries = dict(base.entries)
    for key, entry in over.entries.items():
        below = entries.get(key)
        if below is not None:
            entry = YEntry(entry.key_loc, deep_merge(below.value, entry.value))
        entries[key] = entry
    return YMap(entries, over.loc)


def to_plain(value: YValue) -> object:
    """Plain Python (dicts, lists, JSON scalars) for free-form blocks such as `parameters`."""
    if isinstance(value, YMap):
        return {key: to_plain(entry.value) for key, entry in value.entries.items()}
    if isinstance(value, YSeq):
        return [to_plain(item) for item in value.items]
    if value.value is None or isinstance(value.value, str | int | float | bool):
        return value.value
    return value.raw  # dates and binary stay as written, so the result is JSON-friendly


def syntax_issue(exc: yaml.YAMLError, source: str, text: str) -> ConfigIssue:
    """A PyYAML error as one plain sentence at the line and column of the problem."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return ConfigIssue(Location(source, mark.line + 1, mark.column + 1), _plain_problem(exc))
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        message = f"invalid YAML: the character {what} is not allowed in a YAML file"
        return ConfigIssue(Location(source, line, column), message)
    return ConfigIssue(Location(source, 1, 1), f"invalid YAML: {exc}")


def _plain_problem(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "something is wrong here"
    if "'\\t'" in problem:
        return "invalid YAML: a tab character is not allowed here; indent YAML with spaces"
    if problem == "mapping values are not allowed here":
        return (
            "invalid YAML: a ':' cannot appear here; quote a value that contains ': ', "
            "or check the indentation"
        )
    if problem.startswith("expected <block end>"):
        return "invalid YAML: this line's indentation does not line up with the lines above"
    if exc.context == "expected a single document in the stream":
        return "invalid YAML: the file holds more than one document ('---'); expected one"
    message = f"invalid YAML: {problem}"
    if exc.context and exc.context_mark is not None:
        message += f" ({exc.context} started at line {exc.context_mark.line + 1})"
    return message


class _Converter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[ConfigIssue] = []
        self._scalars = yaml.SafeLoader("")
        self._done: dict[int, YValue] = {}  # anchors shared by aliases are converted once
        self._active: set[int] = set()

    def convert(self, node: yaml.Node) -> YValue:
        key = id(node)
        if key in self._done:
            return self._done[key]
        loc = self._loc(node)
        if key in self._active:
            self.issues.append(ConfigIssue(loc, "an alias refers to the value that contains it"))
            return YScalar(None, "", loc)
        self._active.add(key)
        try:
            result = self._convert(node, loc)
        finally:
            self._active.discard(key)
        self._done[key] = result
        return result

    def _convert(self, node: yaml.Node, loc: Location) -> YValue:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, loc)
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, _SEQ_TAG, loc)
            return YSeq(tuple(self.convert(item) for item in node.value), loc)
        assert isinstance(node, yaml.MappingNode)
        self._check_tag(node, _MAP_TAG, loc)
        return self._mapping(node, loc)

    def _scalar(self, node: yaml.ScalarNode, loc: Location) -> YScalar:
        try:
            value = self._scalars.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError):
            self.issues.append(ConfigIssue(loc, f"unsupported YAML tag '{node.tag}'"))
            value = None
        if not (value is None or isinstance(value, str | int | float | bool | date | bytes)):
            value = node.value
        if isinstance(value, str):
            value = self._text(value, loc)
        return YScalar(value, self._text(node.value, None), loc)

    def _text(self, text: str, loc: Location | None) -> str:
        """`text`, or, when it holds a lone surrogate ("\ud800" in a double-quoted string:
        nothing could send or store it), an issue at `loc` and the text with `?` for it."""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            try:  # "\ud83d\ude00": a pair, as JSON writes characters beyond U+FFFF
                return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
            except UnicodeDecodeError:
                pass
            if loc is not None:
                message = "this text holds a lone surrogate (an escape like \\ud800)"
                self.issues.append(ConfigIssue(loc, message))
            return text.encode("utf-8", "replace").decode("utf-8")
        return text

    def _mapping(self, node: yaml.MappingNode, loc: Location) -> YMap:
        merged: dict[str, YEntry] = {}
        own: dict[str, YEntry] = {}
        for key_node, value_node in node.value:
            key_loc = self._loc(key_node)
            if key_node.tag == _MERGE_TAG:
                self._merge_into(merged, self.convert(value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.issues.append(ConfigIssue(key_loc, "a key must be a plain string"))
                continue
            name = self._text(key_node.value, key_loc)
            if name in own:
                first = own[name].key_loc.line
                message = f"duplicate key '{name}' (first defined at line {first})"
                self.issues.append(ConfigIssue(key_loc, message))
                continue
            own[name] = YEntry(key_loc, self.convert(value_node))
        return YMap({**merged, **own}, loc)

    def _merge_into(self, merged: dict[str, YEntry], value: YValue) -> None:
        """`<<: *anchor` or `<<: [*a, *b]`; earlier sources win, as YAML says."""
        sources = value.items if isinstance(value, YSeq) else (value,)
        for source in sources:
            if not isinstance(source, YMap):
                self.issues.append(ConfigIssue(source.loc, "'<<' merges only mappings"))
                continue
            for key, entry in source.entries.items():
                merged.setdefault(key, entry)

    def _check_tag(self, node: yaml.Node, expected: str, loc: Location) -> None:
        if node.tag != expected:
            self.issues.append(ConfigIssue(loc, f"unsupported YAML tag '{node.tag}'"))

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.source, node.start_mark.line + 1, node.start_mark.column + 1)
