"""The `model:` block of a node: kind, rules and their matchers, and reply templates."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

from emulator.config.checks import Checker, did_you_mean
from emulator.config.model import MODEL_KINDS, Matcher, ModelKind, ModelSpec, Rule, frozen_map
from emulator.config.yamlnodes import YMap, YScalar, YValue, to_plain
from emulator.core.templates import PLACEHOLDER_PATTERN, placeholders, validate_template

if TYPE_CHECKING:
    import regex

MODEL_KEYS = ("name", "kind", "rules", "fallback", "template", "fixture", "speed", "parameters")
RULE_KEYS = ("when", "reply", "replies", "sources")
MATCHER_KEYS = ("contains", "equals", "regex", "turn", "any")

# Keys that mean something only for some kinds of model.
_ONLY_FOR: dict[str, tuple[ModelKind, ...]] = {
    "rules": ("scripted",),
    "fallback": ("scripted", "replay"),
    "template": ("echo", "scripted"),
    "fixture": ("replay",),
    "speed": ("replay",),
}
_ANY_GROUP = sys.maxsize  # the matcher was invalid: do not second-guess `{match.N}`


def build_model(c: Checker, value: YValue | None, knowledge_ids: Sequence[str]) -> ModelSpec:
    """`model: echo`, `model: lorem`, or the full mapping."""
    if value is None:
        return ModelSpec()
    if isinstance(value, YScalar) and isinstance(value.value, str):
        return _shorthand(c, value)
    if not isinstance(value, YMap):
        c.expected("model", "echo, lorem or a mapping with `kind:`", value)
        return ModelSpec()
    m = c.mapping(value, "model", MODEL_KEYS)
    assert m is not None
    kind = _kind(c, m)
    name = c.string(c.get(m, "name"), "name") or f"emulator-{kind}"
    rules = _rules(c, m, knowledge_ids) if kind == "scripted" else ()
    fallback = template_text(c, c.get(m, "fallback"), "fallback", None, ("echo", "lorem"))
    template = template_text(c, c.get(m, "template"), "template", None)
    speed = c.number(c.get(m, "speed"), "speed", 0, above=True)
    return ModelSpec(
        kind=kind,
        name=name,
        rules=rules,
        fallback=fallback or (None if kind == "replay" else "echo"),
        template=template,
        fixture=_fixture(c, m, kind),
        speed=1.0 if speed is None else speed,
        parameters=frozen_map(_parameters(c, c.get(m, "parameters"))),
    )


def build_matcher(c: Checker, value: YValue | None, key: str = "when") -> Matcher | None:
    """A rule's or a fault's `when`; None (with an issue) when unusable."""
    m = c.mapping(value, key, MATCHER_KEYS)
    if m is None:
        return None
    regex_value = c.get(m, "regex")
    contains = c.string(c.get(m, "contains"), "contains")
    equals = c.string(c.get(m, "equals"), "equals")
    pattern = _regex(c, regex_value)
    turn = c.integer(c.get(m, "turn"), "turn", 1)
    any_ = c.boolean(c.get(m, "any"), "any")
    if all(c.get(m, name) is None for name in MATCHER_KEYS):
        c.error(m.loc, f"{key}: needs at least one of {', '.join(MATCHER_KEYS)}")
        return None
    if regex_value is not None and pattern is None:
        return None
    return Matcher(
        contains=contains,
        equals=equals,
        regex=pattern,
        turn=turn,
        any=bool(any_),
        regex_at=regex_value.loc if regex_value is not None else None,
    )


def template_text(
    c: Checker,
    value: YValue | None,
    key: str,
    max_group: int | None,
    keywords: tuple[str, ...] = (),
) -> str | None:
    """A template string, its problems reported. `max_group` is the highest `{match.N}` that has
    a value where the template is used (None: no match values at all); `keywords` pass as is."""
    text = c.string(value, key)
    if text is None or value is None or text in keywords:
        return text
    problems = validate_template(text)
    for name in placeholders(text):
        found = PLACEHOLDER_PATTERN.fullmatch(name)
        group = found.group("group") if found else None
        if group is not None and (max_group is None or int(group) > max_group):
            problems.append(_match_problem(name, max_group))
    for problem in problems:
        c.error(value.loc, f"{key}: {problem}")
    return text


def _match_problem(name: str, max_group: int | None) -> str:
    if max_group is None:
        return f"{{{name}}} has no value here: only a rule with `regex` or `contains` sets it"
    if max_group == 0:
        return f"{{{name}}} has no value: this rule sets only {{match.0}} (use a regex with groups)"
    plural = "group" if max_group == 1 else "groups"
    return f"{{{name}}} has no value: this rule's regex has only {max_group} {plural}"


def _shorthand(c: Checker, value: YScalar) -> ModelSpec:
    text = str(value.value)
    if text == "echo":
        return ModelSpec(kind="echo", name="emulator-echo")
    if text == "lorem":
        return ModelSpec(kind="lorem", name="emulator-lorem")
    if text == "scripted":
        c.error(
            value.loc,
            "model: a scripted model needs rules: write model: {kind: scripted, rules: [...]}",
        )
    elif text == "replay":
        c.error(
            value.loc,
            "model: a replay model needs a fixture: write model: {kind: replay, fixture: NAME}",
        )
    else:
        hint = did_you_mean(text, ("echo", "lorem"))
        c.error(value.loc, f"model: expected echo, lorem or a mapping, got '{text}'{hint}")
    return ModelSpec()


def _kind(c: Checker, m: YMap) -> ModelKind:
    """The declared kind, else scripted with rules, replay with a fixture, echo otherwise."""
    declared = c.get(m, "kind")
    default: ModelKind = "echo"
    if c.get(m, "rules") is not None:
        default = "scripted"
    elif c.get(m, "fixture") is not None:
        default = "replay"
    kind = c.choice(declared, "kind", MODEL_KINDS) if declared is not None else default
    if kind is None:
        return default
    for key, kinds in _ONLY_FOR.items():
        entry = c.entry(m, key)
        if entry is not None and c.get(m, key) is not None and kind not in kinds:
            allowed = " and ".join(kinds)
            c.error(entry.key_loc, f"`{key}` only applies to {allowed} models (this one is {kind})")
    return kind


def _rules(c: Checker, m: YMap, knowledge_ids: Sequence[str]) -> tuple[Rule, ...]:
    value = c.get(m, "rules")
    items = c.items(value, "rules")
    if value is None or items == ():
        c.error(m.loc, "a scripted model needs at least one rule in `rules:`")
    if not items:
        return ()
    rules = (_rule(c, item, index, knowledge_ids) for index, item in enumerate(items, 1))
    return tuple(rule for rule in rules if rule is not None)


def _rule(c: Checker, value: YValue, index: int, knowledge_ids: Sequence[str]) -> Rule | None:
    m = c.mapping(value, f"rule {index}", RULE_KEYS)
    if m is None:
        return None
    when_value = c.require(m, "when", f"rule {index}", " (for example `when: {contains: hi}`)")
    when = build_matcher(c, when_value) if when_value is not None else None
    max_group: int | None = _ANY_GROUP
    if when is not None:
        max_group = when.regex.groups if when.regex else (0 if when.contains else None)
    replies = _replies(c, m, index, max_group)
    sources = _sources(c, c.get(m, "sources"), knowledge_ids)
    if when is None or not replies:
        return None
    return Rule(when=when, replies=replies, sources=sources)


def _replies(c: Checker, m: YMap, index: int, max_group: int | None) -> tuple[str, ...]:
    reply, replies = c.get(m, "reply"), c.get(m, "replies")
    if reply is not None and replies is not None:
        c.error(replies.loc, f"rule {index} has both `reply` and `replies`: keep one")
        return ()
    if reply is not None:
        text = template_text(c, reply, "reply", max_group)
        return (text,) if text is not None else ()
    if replies is None:
        c.error(m.loc, f"rule {index} needs `reply:` or `replies:`")
        return ()
    items = c.items(replies, "replies")
    if items is not None and not items:
        c.error(replies.loc, "replies: expected a non-empty list of strings")
    texts: list[str] = []
    for item in items or ():
        text = template_text(c, item, "replies", max_group)
        if text is not None:
            texts.append(text)
    return tuple(texts)


def _sources(c: Checker, value: YValue | None, knowledge_ids: Sequence[str]) -> tuple[str, ...]:
    found: list[str] = []
    for item in c.items(value, "sources") or ():
        doc_id = c.string(item, "sources")
        if doc_id is None:
            continue
        if doc_id not in knowledge_ids:
            hint = (
                did_you_mean(doc_id, knowledge_ids)
                if knowledge_ids
                else (": this node has no `knowledge:`")
            )
            c.error(item.loc, f"sources: unknown knowledge id '{doc_id}'{hint}")
        found.append(doc_id)
    return tuple(found)


def _regex(c: Checker, value: YValue | None) -> regex.Pattern[str] | None:
    text = c.string(value, "regex")
    if text is None or value is None:
        return None
    import regex  # only a config with a regex needs it: a fraction of start-up otherwise

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. FutureWarning "possible nested set"
            return regex.compile(text)
    except regex.error as exc:
        c.error(value.loc, f"regex: invalid regular expression: {exc}")
        return None


def _fixture(c: Checker, m: YMap, kind: ModelKind) -> str | None:
    value = c.get(m, "fixture")
    if kind == "replay" and value is None:
        c.error(m.loc, "a replay model is missing `fixture:` (the name of a recorded fixture)")
    name = c.string(value, "fixture")
    if name is None or value is None:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        # A NUL would reach the file system as an "embedded null byte" error on every turn.
        shown = name.encode("unicode_escape").decode()
        c.error(value.loc, f"fixture: a name cannot hold control characters, got '{shown}'")
        return None
    path = PurePath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name:
        c.error(value.loc, f"fixture: expected a name inside the fixtures directory, got '{name}'")
        return None
    return name


def _parameters(c: Checker, value: YValue | None) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, YMap):
        c.expected("parameters", "a mapping", value)
        return {}
    plain = to_plain(value)
    assert isinstance(plain, dict)
    return plain
