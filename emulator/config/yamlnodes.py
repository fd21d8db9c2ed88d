"""YAML text to a small tree of values that remember where they were written.

PyYAML's `compose` gives nodes with marks; we convert them ourselves so that every value keeps its
1-based line and column, duplicate keys are reported instead of silently dropped, and YAML errors
become `ConfigIssue`s in plain words. Nothing outside this module sees a PyYAML type.

Composing is bounded, because a config can arrive over HTTP (`PUT /_emulator/config`) and a few
hundred bytes of aliases can stand for 10^9 values (a "billion laughs"): the document's size,
its nesting depth and the number of values its aliases stand for are capped while composing,
before anything is expanded. A breach is an issue at the place where the cap was crossed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import msgspec
import yaml

from emulator.config.errors import ConfigIssue
from emulator.config.model import Location

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"

MAX_DEPTH = 100  # nested mappings and lists; a JSON schema under `parameters` needs a dozen
MAX_ALIAS_VALUES = 100_000  # values produced by aliases (each `*name` counts its whole value)
MAX_CHARS = 1024 * 1024  # a config; fixtures pass their own, larger, limit


class YScalar(msgspec.Struct, frozen=True):
    value: object  # str | int | float | bool | None, or a date for an unquoted date
    raw: str  # as written, e.g. "yes" for True
    loc: Location


class YEntry(msgspec.Struct, frozen=True):
    key_loc: Location
    value: YValue


class YMap(msgspec.Struct, frozen=True):
    entries: Mapping[str, YEntry]
    loc: Location


class YSeq(msgspec.Struct, frozen=True):
    items: tuple[YValue, ...]
    loc: Location


YValue = YScalar | YMap | YSeq


def compose(
    text: str, source: str, *, max_chars: int = MAX_CHARS
) -> tuple[YValue | None, list[ConfigIssue]]:
    """Parse one YAML document. None with an issue on a syntax error or a breached limit; None
    alone when empty."""
    if len(text) > max_chars:
        return None, [_too_long(text, source, max_chars)]
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        return None, [syntax_issue(exc, source, text)]
    except RecursionError:  # not expected under MAX_DEPTH; never a traceback if it happens
        message = f"the YAML is nested too deeply (the limit is {MAX_DEPTH} levels)"
        return None, [ConfigIssue(Location(source, 1, 1), message)]
    finally:
        loader.dispose()
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


def expanded_size(value: YValue, memo: dict[int, int] | None = None) -> int:
    """How many values `value` stands for with every shared part counted each time it is used
    (the size of its `to_plain`), in time linear in the distinct values."""
    memo = {} if memo is None else memo
    key = id(value)
    if key not in memo:
        if isinstance(value, YMap):
            size = 1 + sum(1 + expanded_size(e.value, memo) for e in value.entries.values())
        elif isinstance(value, YSeq):
            size = 1 + sum(expanded_size(item, memo) for item in value.items)
        else:
            size = 1
        memo[key] = size
    return memo[key]


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
    if isinstance(exc, LimitExceeded):
        mark = exc.problem_mark
        assert mark is not None
        return ConfigIssue(Location(source, mark.line + 1, mark.column + 1), exc.problem or "")
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


class LimitExceeded(yaml.MarkedYAMLError):
    """A document past one of the composing limits; `problem` is the whole message."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe composer, counting as it goes: it refuses a collection nested deeper than
    MAX_DEPTH, and stops once aliases stand for more than MAX_ALIAS_VALUES values in all.

    Each finished node's expanded size (itself plus everything under it, aliases counted in
    full) is remembered, so an alias costs one lookup and the count never expands anything.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> expanded size; nodes live as long as this
        self._from_aliases = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner runs ahead of the composer, and its cost per token grows with the flow
        # level ('[[[[...': 2,000 of them took seconds), so flow nesting is capped here too.
        if self.flow_level >= MAX_DEPTH:
            mark: Any = self.get_mark()
            raise LimitExceeded(problem=_too_deep(), problem_mark=mark)
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            # An alias to a collection still open (it refers to itself) counts one; the
            # converter reports it.
            self._from_aliases += self._sizes.get(id(target), 1)
            if self._from_aliases > MAX_ALIAS_VALUES:
                raise _breach(
                    f"aliases here expand to more than {MAX_ALIAS_VALUES:,} values in all "
                    "(a YAML alias bomb?); write the values out or share fewer",
                    event,
                )
            return super().compose_node(parent, index)
        collection = isinstance(event, yaml.CollectionStartEvent)
        if collection:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _breach(_too_deep(), event)
        try:
            node = super().compose_node(parent, index)
        finally:
            if collection:
                self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(child), 1) for child in _children(node))
        return node


def _too_deep() -> str:
    return f"this value is nested more than {MAX_DEPTH} levels deep; the limit is {MAX_DEPTH}"


def _breach(problem: str, event: Any) -> LimitExceeded:
    return LimitExceeded(problem=problem, problem_mark=event.start_mark)


def _children(node: yaml.Node | None) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _too_long(text: str, source: str, max_chars: int) -> ConfigIssue:
    before = text[:max_chars]
    line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
    message = (
        f"the file is too large: it may hold at most {max_chars:,} characters, "
        f"and it holds {len(text):,}"
    )
    return ConfigIssue(Location(source, line, column), message)


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
