"""Reply models: echo, scripted, lorem and replay. Pure functions of the node, the message and
the thread's history (and, for replay, the fixture), so the same conversation under the same
seed gives the same words."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING, TypeAlias

import msgspec

from emulator.config.model import Fault, Matcher, ModelSpec, Node, Rule
from emulator.core.errors import ModelError
from emulator.core.fixtures import FixtureTurn
from emulator.core.replay import FixtureSource, Position, find_turn, miss, turn_at
from emulator.core.seams import stable_seed
from emulator.core.templates import render_template

if TYPE_CHECKING:
    import regex  # loaded with a config that has a regex (emulator/config/modelspec.py)
    from faker import Faker

# A regex that backtracks without end (`^(a|a)+$` on "aaaa...!") is stopped after this much
# CPU time (the regex module counts CPU time, not wall time), and that turn fails.
REGEX_TIMEOUT_S = 0.1

Hit: TypeAlias = "re.Match[str] | regex.Match[str] | bool"
Searched: TypeAlias = "regex.Match[str] | TimeoutError | None"

# The node's regexes already run on `searched_off_loop`'s thread for the message being answered:
# (the message, id(pattern) -> outcome). Set only while `start_turn` runs, which never awaits.
_searched: list[tuple[str, dict[int, Searched]]] = []


async def searched_off_loop(
    node: Node, message: str, faults: Iterable[Fault] = ()
) -> dict[int, Searched]:
    """Every regex of `node`'s rules and faults (and of `faults`, set at run time) searched in
    `message` on a worker thread, with the GIL released (`concurrent=True`): a slow one costs
    the event loop nothing."""
    matchers = chain(_matchers(node), (f.when for f in faults if f.when is not None))
    patterns = {id(when.regex): when.regex for when in matchers if when.regex is not None}
    if not patterns:
        return {}
    return await asyncio.to_thread(_search_all, patterns, message)


@contextmanager
def searched(message: str, outcomes: dict[int, Searched]) -> Iterator[None]:
    """While inside, `match` takes the outcomes of `searched_off_loop` for `message`."""
    _searched.append((message, outcomes))
    try:
        yield
    finally:
        _searched.pop()


def _search_all(patterns: Mapping[int, regex.Pattern[str]], message: str) -> dict[int, Searched]:
    outcomes: dict[int, Searched] = {}
    for key, pattern in patterns.items():
        try:
            outcomes[key] = pattern.search(message, timeout=REGEX_TIMEOUT_S, concurrent=True)
        except TimeoutError as exc:
            outcomes[key] = exc
    return outcomes


def _matchers(node: Node) -> Iterator[Matcher]:
    for rule in node.model.rules:
        yield rule.when
    for fault in node.faults:
        if fault.when is not None:
            yield fault.when


class TurnContext(msgspec.Struct, frozen=True):
    node: Node
    message: str
    thread_id: str
    turn: int  # 1 for the first user message of a thread
    # rule index -> times it answered earlier in this thread; asked only for multi-reply rules
    rule_hits: Callable[[int], int] = lambda _: 0
    seed: int | None = None
    # replay: where in the fixture this thread's last reply came from
    last_replay: Callable[[], Position | None] = lambda: None


class Reply(msgspec.Struct, frozen=True):
    text: str
    sources: tuple[str, ...] = ()  # knowledge ids the answer cites
    rule: int | None = None  # index of the rule that answered, if any
    recorded: FixtureTurn | None = None  # replay: the turn answering, frames and timing
    replay: Position | None = None  # replay: where that turn is in the fixture


def match(when: Matcher, message: str, turn: int) -> Hit:
    """Whether every condition of `when` holds; a regex or contains match is returned for
    `{match.N}`. `contains` and `equals` ignore case and surrounding whitespace. A regex that
    takes longer than REGEX_TIMEOUT_S is a ModelError naming where it was written."""
    found: Hit = when.any
    if when.turn is not None:
        if turn != when.turn:
            return False
        found = True
    if when.equals is not None:
        if message.strip().casefold() != when.equals.strip().casefold():
            return False
        found = True
    if when.contains is not None:
        hit = re.search(re.escape(when.contains), message, re.IGNORECASE)
        if hit is None:
            return False
        found = hit
    if when.regex is not None:
        found_regex = _search(when, message)
        if found_regex is None:
            return False
        found = found_regex
    return found


def _search(when: Matcher, message: str) -> regex.Match[str] | None:
    assert when.regex is not None
    try:
        ready = _searched[-1][1] if _searched and _searched[-1][0] is message else {}
        outcome = ready.get(id(when.regex))
        if id(when.regex) not in ready:  # a matcher made elsewhere: searched here, as bounded
            outcome = when.regex.search(message, timeout=REGEX_TIMEOUT_S)
        if isinstance(outcome, TimeoutError):
            raise outcome
        return outcome
    except TimeoutError:
        where = f" at {when.regex_at}" if when.regex_at is not None else ""
        raise ModelError(
            f"The regex{where} ('{when.regex.pattern}') took longer than "
            f"{REGEX_TIMEOUT_S * 1000:.0f} ms on this message and was stopped; "
            "it backtracks too much (nested repeats such as (a+)+ do): simplify it"
        ) from None


class ModelRunner:
    """Answers a turn with the node's model. One Faker, reseeded per turn that uses it."""

    def __init__(self, fixtures: FixtureSource | None = None) -> None:
        self._faker_instance: Faker | None = None
        self._fixtures = fixtures

    @property
    def _faker(self) -> Faker:
        # Imported and built on first use: Faker takes a third of start-up time, and echo,
        # scripted and replay replies without {fake.X} placeholders never need it.
        if self._faker_instance is None:
            from faker import Faker

            self._faker_instance = Faker()
        return self._faker_instance

    def reply(self, ctx: TurnContext) -> Reply:
        spec = ctx.node.model
        if spec.kind == "echo":
            return Reply(self._echo(spec, ctx))
        if spec.kind == "lorem":
            return Reply(self._lorem(ctx))
        if spec.kind == "scripted":
            return self._scripted(spec, ctx)
        return self._replay(spec, ctx)

    def _replay(self, spec: ModelSpec, ctx: TurnContext) -> Reply:
        if self._fixtures is None or spec.fixture is None:
            raise ModelError(f"Node '{ctx.node.alias}' replays a fixture, but none is available")
        fixture = self._fixtures.fixture(spec.fixture)
        position = find_turn(fixture, ctx.message, ctx.turn, ctx.last_replay())
        recorded = turn_at(fixture, position) if position is not None else None
        if recorded is not None:
            return Reply(recorded.reply, recorded=recorded, replay=position)
        if spec.fallback is None:
            raise miss(spec.fixture, fixture, ctx.message)
        return self._fallback(spec, spec.fallback, ctx)

    def _scripted(self, spec: ModelSpec, ctx: TurnContext) -> Reply:
        for index, rule in enumerate(spec.rules):
            hit = match(rule.when, ctx.message, ctx.turn)
            if hit is not False:
                hits = ctx.rule_hits(index) if len(rule.replies) > 1 else 0
                template = _nth_reply(rule, hits)
                groups = _groups(hit)
                return Reply(self._render(template, ctx, groups), rule.sources, index)
        return self._fallback(spec, spec.fallback or "echo", ctx)

    def _fallback(self, spec: ModelSpec, fallback: str, ctx: TurnContext) -> Reply:
        if fallback == "echo":
            return Reply(self._echo(spec, ctx))
        if fallback == "lorem":
            return Reply(self._lorem(ctx))
        return Reply(self._render(fallback, ctx, {}))

    def _echo(self, spec: ModelSpec, ctx: TurnContext) -> str:
        if spec.template is None:
            return ctx.message
        return self._render(spec.template, ctx, {})

    def _lorem(self, ctx: TurnContext) -> str:
        self._reseed(ctx)
        return self._faker.paragraph(nb_sentences=3)

    def _render(self, template: str, ctx: TurnContext, groups: Mapping[str, str]) -> str:
        values = {
            "message": ctx.message,
            "turn": str(ctx.turn),
            "node.name": ctx.node.name,
            **groups,
        }
        seeded = False

        def fake(provider: str) -> str:
            # Seeded before the first {fake.X}, so a template without one costs no reseed.
            nonlocal seeded
            if not seeded:
                self._reseed(ctx)
                seeded = True
            return str(getattr(self._faker, provider)())

        return render_template(template, values, fake)

    def _reseed(self, ctx: TurnContext) -> None:
        self._faker.seed_instance(stable_seed(ctx.seed, ctx.thread_id, ctx.turn))


def _nth_reply(rule: Rule, hits: int) -> str:
    """`replies` answer in order; the last one repeats."""
    return rule.replies[min(hits, len(rule.replies) - 1)]


def _groups(hit: Hit) -> dict[str, str]:
    if isinstance(hit, bool):
        return {}
    groups = {"match.0": hit.group(0)}
    for number, value in enumerate(hit.groups(), start=1):
        groups[f"match.{number}"] = value or ""
    return groups
