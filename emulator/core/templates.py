"""Reply templates: `{message}`, `{turn}`, `{match.N}`, `{node.name}` and `{fake.PROVIDER}`.

Substitution is by value only. A placeholder names one string; there is no attribute access, no
indexing and no format spec, and `str.format` is never used (it would let a config reach into
Python objects). `{{` and `}}` write literal braces; a single brace is a mistake in a template.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from functools import cache, lru_cache

from emulator.core.errors import ModelError

# The whole of what may stand between braces.
PLACEHOLDER_PATTERN = re.compile(
    r"message|turn|match\.(?P<group>\d+)|node\.name|fake\.(?P<provider>[A-Za-z][A-Za-z0-9_]*)"
)
# One token of a template: an escaped brace, a `{...}` placeholder, or a stray brace.
_TOKEN = re.compile(r"\{\{|\}\}|\{(?P<name>[^{}]*)\}|[{}]")

# The longest reply a template may render. The echo of the largest message (a 1 MiB body) is
# well under it; a template repeating `{message}` is not, and would be streamed token by token.
MAX_REPLY_CHARS = 2 * 1024 * 1024

_KNOWN = "{message}, {turn}, {match.N}, {node.name} or {fake.PROVIDER}"

FakeFn = Callable[[str], str]


def placeholders(text: str) -> list[str]:
    """The well-formed placeholder names in `text`, in order (`message`, `match.1`, ...)."""
    names: list[str] = []
    for token in _TOKEN.finditer(text):
        name = token.group("name")
        if name is not None and PLACEHOLDER_PATTERN.fullmatch(name):
            names.append(name)
    return names


def validate_template(text: str, is_provider: Callable[[str], bool] | None = None) -> list[str]:
    """Every problem with `text` as a template, in plain words; empty when it is usable.

    `is_provider` says whether a `{fake.X}` name is a Faker provider; it defaults to asking Faker.
    """
    check = is_provider or is_faker_provider
    problems: list[str] = []
    for token in _TOKEN.finditer(text):
        raw, name = token.group(0), token.group("name")
        if raw in ("{{", "}}"):
            continue
        if name is None:
            problems.append(
                f"a single '{raw}' in a template: write '{raw}{raw}' for a literal brace"
            )
            continue
        found = PLACEHOLDER_PATTERN.fullmatch(name)
        if found is None:
            problems.append(f"unknown placeholder '{{{name}}}': use {_KNOWN}")
        elif found.group("provider") and not check(found.group("provider")):
            problems.append(_unknown_provider(found.group("provider")))
    return problems


def render_template(
    text: str, values: Mapping[str, str], fake: FakeFn, *, limit: int = MAX_REPLY_CHARS
) -> str:
    """Substitute placeholders by value. A placeholder without a value (a regex group that did not
    take part) renders empty; anything that is not a placeholder is copied as written. A result
    longer than `limit` characters is a ModelError, raised before it is built."""
    parts = _parsed(text)
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]  # no placeholder at all
    out: list[str] = []
    size = 0
    for part in parts:
        if isinstance(part, str):
            piece = part
        elif part[0] == "fake":
            piece = fake(part[1])
        else:
            piece = values.get(part[1], "")
        size += len(piece)
        if size > limit:  # checked as it grows: `{message}` x 100 is never built
            raise ModelError(
                f"The reply would be longer than {limit:,} characters (does its template "
                "repeat a long message?); it was not sent"
            )
        out.append(piece)
    return "".join(out)


Part = str | tuple[str, str]  # literal text, or ("fake" | "value", name)


@lru_cache(maxsize=1024)
def _parsed(text: str) -> tuple[Part, ...]:
    """A template as literal runs and placeholders, parsed once per template (per config,
    in effect) instead of once per reply."""
    parts: list[Part] = []
    literal: list[str] = []
    at = 0
    for token in _TOKEN.finditer(text):
        literal.append(text[at : token.start()])
        at = token.end()
        raw, name = token.group(0), token.group("name")
        found = PLACEHOLDER_PATTERN.fullmatch(name) if name is not None else None
        if found is None:
            literal.append("{" if raw == "{{" else "}" if raw == "}}" else raw)
            continue
        if literal:
            parts.append("".join(literal))
            literal = []
        if found.group("provider"):
            parts.append(("fake", found.group("provider")))
        elif found.group("group") is not None:
            parts.append(("value", f"match.{int(found.group('group'))}"))
        else:
            parts.append(("value", found.group(0)))
    literal.append(text[at:])
    literal_text = "".join(literal)
    return (*parts, literal_text) if literal_text or not parts else tuple(parts)


# No-argument providers that every Faker release since 4 has, checked against the installed
# Faker by a test: a config using only these is validated without importing Faker (about a
# seventh of a second at start-up). Any other name is looked up in Faker itself.
COMMON_PROVIDERS = frozenset(
    {
        "address", "city", "color_name", "company", "country", "date", "email", "first_name",
        "job", "last_name", "name", "paragraph", "phone_number", "postcode", "sentence",
        "street_address", "text", "url", "user_name", "uuid4", "word",
    }
)  # fmt: skip


def is_faker_provider(name: str) -> bool:
    """Whether `Faker().<name>()` is a provider method that needs no arguments."""
    return name in COMMON_PROVIDERS or name in _faker_providers()


@cache
def _faker_providers() -> frozenset[str]:
    from faker import Faker  # only a config with {fake.X} placeholders needs it

    faker = Faker()
    generator = faker.factories[0]
    reserved = set(dir(type(faker)))  # proxy helpers such as `seed_instance` and `unique`
    return frozenset(
        name
        for name in dir(generator)
        if not name.startswith("_") and name not in reserved and _no_arg_provider(generator, name)
    )


def _no_arg_provider(generator: object, name: str) -> bool:
    from faker.providers import BaseProvider

    try:
        method = getattr(generator, name)
    except Exception:  # a few generator attributes raise when read; none is a provider
        return False
    if not inspect.ismethod(method) or not isinstance(method.__self__, BaseProvider):
        return False
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not inspect.Parameter.empty
        or p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        for p in parameters
    )


def _unknown_provider(name: str) -> str:
    from difflib import get_close_matches  # difflib loads on a miss: 1.7 ms of start-up otherwise

    close = get_close_matches(name, sorted(_faker_providers()), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown Faker provider '{name}'{hint}"
