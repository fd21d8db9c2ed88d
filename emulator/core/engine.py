"""The engine: one turn of a conversation, from message to stored reply and paced events.

APIs call it with plain values and get plain values back; they never see the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any

import msgspec
from msgspec.structs import replace

from emulator.config.model import Config, Node
from emulator.core.auth import authenticate
from emulator.core.errors import EmulatorError, IdempotencyConflict, ThreadNotFound
from emulator.core.events import Done, Failure, Paced, Pause, Run, Sources, Start
from emulator.core.faults import FaultInjector, Interruption, interruption, refuse
from emulator.core.fixtures import FixtureTurn
from emulator.core.models import ModelRunner, Reply, TurnContext, searched, searched_off_loop
from emulator.core.overrides import Override, Overrides
from emulator.core.ratelimit import Quota, RateLimiter
from emulator.core.records import IdempotencyRecord, MessageRecord, Store, ThreadRecord
from emulator.core.replay import FixtureSource, Position
from emulator.core.replay import delays as recorded_delays
from emulator.core.routing import NOTHING_UNLOADED, Hints, Unloaded, addressed_api, resolve_node
from emulator.core.seams import Clock, Ids, SystemClock, isoformat
from emulator.core.sources import Source, sources_for
from emulator.core.timing import token_delays
from emulator.core.tokens import Tokens, count_tokens

# Tokens sent without a pause between them (no latency configured) are yielded in runs of this
# many, handing the event loop back between runs: a 340k-token echo of a 1 MiB message would
# otherwise hold the loop, and every other client, for seconds.
TOKENS_PER_LOOP_TURN = 64
LONG_MESSAGE_CHARS = 16 * 1024  # `begin_turn` tokenizes a longer message in chunks first


class Usage(msgspec.Struct, frozen=True):
    input_tokens: int
    output_tokens: int


class Turn(msgspec.Struct, frozen=True):
    """A decided reply. It is already stored when the API starts sending it."""

    node: str
    thread_id: str
    user_message_id: str
    message_id: str
    content: str
    tokens: Sequence[str]  # a `Tokens` (compact) from the engine; any sequence of strings works
    model: str
    usage: Usage
    created_at: str
    trace_id: str
    sources: tuple[Source, ...] = ()
    replayed: bool = False  # answered from an idempotency record
    interruption: Interruption | None = None  # a fault cuts the reply short
    delays: tuple[float, ...] | None = None  # replay: the recorded pacing, instead of latency

    def to_payload(self) -> dict[str, Any]:
        # Nested records as dicts, tuples as lists: the JSON the idempotency record stores.
        payload: dict[str, Any] = msgspec.to_builtins(replace(self, tokens=()))
        payload["tokens"] = list(self.tokens)
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Turn:
        data = dict(payload)
        data["tokens"] = Tokens.join(data["tokens"])
        data["usage"] = Usage(**data["usage"])
        data["sources"] = tuple(Source(**s) for s in data["sources"])
        cut = data.get("interruption")
        data["interruption"] = Interruption(**cut) if cut else None
        waits = data.get("delays")
        data["delays"] = tuple(waits) if waits is not None else None
        return cls(**data)


class TurnRequest(msgspec.Struct, frozen=True):
    message: str
    thread_id: str | None = None
    session: str | None = None  # a client-chosen conversation key (widget sessionId)
    request_id: str | None = None
    idempotency_key: str | None = None
    fingerprint: str = ""  # what makes two requests with one key "the same"
    thread_prefix: str = "thr_"  # each API's ids have their own look
    extra: dict[str, Any] = {}  # a fresh dict for each request (msgspec copies the default)
    message_tokens: Tokens | None = None  # the message's tokens, when `begin_turn` made them


def idempotency_conflict(stored: str, sent: str) -> str:
    """The 409's message: which of the two differs, the endpoint or the body. Fingerprints read
    "METHOD /path digest"; an older record's bare digest can only say "a different request"."""
    was = stored.rpartition(" ")[0]
    now = sent.rpartition(" ")[0]
    if not was:
        return "This idempotency key was already used with a different request"
    if was != now:
        return f"This idempotency key was already used on another endpoint ({was}, not {now})"
    return "This idempotency key was already used with a different request body"


def fingerprint(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


class Engine:
    """Holds the current config (swapped whole on reload), the store and the seams."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        fixtures: FixtureSource | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self.seed = seed
        self.ids = Ids(seed)
        self.started_at = self.clock.now()
        self.loaded_at = self.started_at
        self.generation = 1
        self.config_error: str | None = None  # the last reload's error, until a good one
        self.unloaded: Unloaded = NOTHING_UNLOADED  # nodes of that broken file not running
        self._models = ModelRunner(fixtures)
        self._jitter = random.Random(seed)
        self.limiter = RateLimiter()
        self.faults = FaultInjector(seed)
        self.overrides = Overrides()
        self._tokenizing = asyncio.Semaphore(1)

    def resolve(self, config: Config, hints: Hints, apis: Sequence[str]) -> Node:
        return resolve_node(config, hints, apis, self.unloaded)

    def addressed_api(self, config: Config, hints: Hints, apis: Sequence[str]) -> str | None:
        """The API a request is addressed to before its body is read, if its path, Host, own
        id or key say so (or only one of `apis` has nodes); its errors take that API's format."""
        return addressed_api(config, hints, apis, self.unloaded)

    def authenticate(self, config: Config, node: Node, credential: str | None) -> None:
        authenticate(config, node, credential)

    def admit(self, node: Node, credential: str | None) -> None:
        """Take one request from the caller's `rate_limit` bucket, or raise RateLimited."""
        limit = self.overrides.rate_limit(node)
        if limit is not None:  # the clock is read only when it matters
            self.limiter.admit(node, credential, self.clock.monotonic(), limit)

    def quota(self, node: Node, credential: str | None) -> Quota | None:
        """The caller's rate-limit bucket as it stands; None for a node without a limit."""
        limit = self.overrides.rate_limit(node)
        if limit is None:
            return None
        return self.limiter.quota(node.alias, credential, limit, self.clock.monotonic())

    def override(self, alias: str, override: Override) -> None:
        """Replace a node's runtime overrides; their `times` faults count afresh."""
        self.overrides.set(alias, override)
        self.faults.forget_overrides(alias)

    def may_wait(self, node: Node) -> bool:
        """Whether answering `node` may wait out a latency: paced tokens, or a recording's own
        pacing (a replay). Other nodes answer without a pause."""
        return self.overrides.latency(node).paced or node.model.kind == "replay"

    def stalls(self, node: Node) -> bool:
        """Whether `stall` waits at all (most nodes have no `latency.delay_ms`)."""
        return self.overrides.latency(node).delay_ms > 0

    async def stall(self, node: Node) -> None:
        """`latency.delay_ms`: wait before any byte of the response."""
        delay = self.overrides.latency(node).delay_ms
        if delay > 0:
            await self.clock.sleep(delay / 1000.0)

    def thread(self, node: Node, thread_id: str) -> ThreadRecord:
        """A thread of `node`; another node's thread is as unknown as a missing one."""
        thread = self.store.get_thread(thread_id)
        if thread is None or thread.node != node.alias:
            raise ThreadNotFound(thread_id)
        return thread

    async def begin_turn(self, node: Node, request: TurnRequest) -> Turn:
        """`start_turn`, a long message tokenized first a chunk per event-loop turn (the echo
        of a 1 MiB message is 340k tokens: tokenizing it at once held every client for a
        quarter of a second). Nothing is read before that, so it changes no outcome."""
        if len(request.message) > LONG_MESSAGE_CHARS and request.message_tokens is None:
            # One long message at a time: fifty at once would each run a chunk in every turn
            # of the loop, and a health check would wait for all fifty chunks.
            async with self._tokenizing:
                tokens = await Tokens.of_async(request.message)
            request = replace(request, message_tokens=tokens)
        faults = self.overrides.faults(node)
        # Most nodes have no rule or fault, so nothing that could be a regex: no search step.
        may_match = node.model.rules or node.faults or faults
        outcomes = await searched_off_loop(node, request.message, faults) if may_match else {}
        if not outcomes:  # no regex searched: nothing for `match` to look up
            return self.start_turn(node, request)
        with searched(request.message, outcomes):  # no await from here to the stored turn
            return self.start_turn(node, request)

    def start_turn(self, node: Node, request: TurnRequest) -> Turn:
        """Decide and store the reply for one user message; idempotent under a key."""
        if request.idempotency_key:
            replayed = self._replay(node, request)
            if replayed is not None:
                return replayed
        existing = self._existing_thread(node, request)
        # Each stored turn is two messages, so the count gives the turn number in O(1).
        turn_number = self.store.message_count(existing.id) // 2 + 1 if existing else 1
        fault = self.faults.pick(node, request.message, turn_number, self.overrides.faults(node))
        if fault is not None:
            refuse(fault)  # a status fault: nothing is stored
        # A new thread is stored with its first turn, once the model has answered: a model
        # error leaves no empty thread behind.
        now = isoformat(self.clock.now())  # a new thread is created with its first turn
        thread = existing if existing is not None else self._new_thread(node, request, now)
        cut = interruption(fault)
        turn, messages = self._answer(node, thread, request, turn_number, cut, now)
        key = request.idempotency_key
        record = (
            IdempotencyRecord(
                node.alias, key, request.fingerprint, turn.to_payload(), turn.thread_id
            )
            if key
            else None
        )
        # One write: the thread (if new), both messages and the idempotency record are all
        # stored or none is, so a failed write never leaves an empty thread or a turn a
        # retry with the same key would store again.
        self.store.store_turn(None if existing else thread, messages, record)
        return turn

    async def events(
        self, node: Node, turn: Turn, since: float | None = None
    ) -> AsyncIterator[Paced]:
        """The turn as paced events: start, sources, one token each, done. An interrupted
        turn stops after its tokens with a Failure (stream_error) or nothing (disconnect).
        A Pause comes before each wait, so what is due before it can be sent at once.

        `since` is when the request arrived (the clock's `monotonic`): the time already spent
        on it counts toward the time to the first token, as a hosted API's does, so a burst
        of requests does not push every first token back by the time it took to start them.
        """
        yield Start(turn)
        if turn.sources:
            yield Sources(turn.sources)
        # Not strict: the delays stop where an interruption cuts the tokens. Iterating the
        # tokens slices each once instead of indexing into them.
        delays = self._delays(node, turn, since)
        run: list[str] = []  # the tokens due now, handed over as one Run
        first = 0
        for index, (text, delay) in enumerate(zip(turn.tokens, delays, strict=False)):
            if delay > 0 or len(run) == TOKENS_PER_LOOP_TURN:
                if run:
                    yield Run(run, first)
                    run = []
                yield Pause(delay)
                if delay > 0:
                    await self.clock.sleep(delay)
                else:  # no wait, but hand the loop back: 340k tokens at once held it for seconds
                    await asyncio.sleep(0)
            if not run:
                first = index
            run.append(text)
        if run:
            yield Run(run, first)
        cut = turn.interruption
        if cut is None:
            yield Done(turn)
        elif cut.kind == "stream_error":
            yield Failure("internal_error", cut.message)

    async def wait_for_reply(self, node: Node, turn: Turn, since: float | None = None) -> None:
        """A non-streaming answer takes as long as the whole stream would (counted from
        `since`, as `events` counts it). An interrupted turn waits for the tokens it would
        have streamed, then fails with a 500."""
        paced = turn.delays is not None or self.overrides.latency(node).paced
        total = sum(self._delays(node, turn, since)) if paced and not turn.replayed else 0
        if total > 0:
            await self.clock.sleep(total)
        if turn.interruption is not None:
            raise EmulatorError(turn.interruption.message)

    def _delays(self, node: Node, turn: Turn, since: float | None = None) -> Iterable[float]:
        count = len(turn.tokens)
        if turn.interruption is not None:
            count = min(count, turn.interruption.after)
        if turn.replayed:
            return repeat(0.0, count)
        if turn.delays is not None:
            delays: Iterable[float] = turn.delays[:count]
        else:
            delays = token_delays(self.overrides.latency(node), count, self._jitter)
        return delays if since is None else self._counted_from(since, delays)

    def _counted_from(self, since: float, delays: Iterable[float]) -> Iterator[float]:
        """`delays` with the time spent since `since` taken off the first (never below zero);
        the rest keep their pace. The clock is read only if the first token has to wait."""
        rest = iter(delays)
        for first in rest:
            yield max(0.0, first - (self.clock.monotonic() - since)) if first > 0 else first
            break
        yield from rest

    def _replay(self, node: Node, request: TurnRequest) -> Turn | None:
        assert request.idempotency_key is not None
        record = self.store.get_idempotency(node.alias, request.idempotency_key)
        if record is None:
            return None
        if record.fingerprint != request.fingerprint:
            raise IdempotencyConflict(idempotency_conflict(record.fingerprint, request.fingerprint))
        return replace(Turn.from_payload(dict(record.payload)), replayed=True)

    def _existing_thread(self, node: Node, request: TurnRequest) -> ThreadRecord | None:
        if request.thread_id is not None:
            return self.thread(node, request.thread_id)
        if request.session is not None:
            return self.store.thread_for_session(node.alias, request.session)
        return None

    def _new_thread(self, node: Node, request: TurnRequest, now: str) -> ThreadRecord:
        return ThreadRecord(
            id=self.ids.new(request.thread_prefix),
            node=node.alias,
            api=node.api,
            created_at=now,
            session=request.session,
        )

    def _history(self, thread_id: str) -> Callable[[], Sequence[MessageRecord]]:
        """The thread's messages, read at most once and only if a model asks."""
        read: Sequence[MessageRecord] | None = None

        def messages() -> Sequence[MessageRecord]:
            nonlocal read
            if read is None:
                read = self.store.messages(thread_id)
            return read

        return messages

    def _answer(
        self,
        node: Node,
        thread: ThreadRecord,
        request: TurnRequest,
        turn_number: int,
        cut: Interruption | None,
        now: str,
    ) -> tuple[Turn, list[MessageRecord]]:
        history = self._history(thread.id)
        ctx = TurnContext(
            node,
            request.message,
            thread.id,
            turn_number,
            rule_hits=lambda rule: _rule_hits(history()).get(rule, 0),
            seed=self.seed,
            last_replay=lambda: _last_replay(history()),
        )
        reply = self._models.reply(ctx)
        recorded = reply.recorded
        if recorded is not None:
            tokens = Tokens.join(frame.text for frame in recorded.frames)
            sources = _recorded_sources(recorded)
        else:
            # An echo's reply is its message: its tokens are made once (a 1 MiB message is
            # 340k tokens, and each pass over it holds the event loop).
            made = request.message_tokens
            echoed = made is not None and reply.text == request.message
            tokens = made if made is not None and echoed else Tokens.of(reply.text)
            sources = sources_for(node, request.message, reply.sources)
        output_tokens = len(tokens) if recorded is None else count_tokens(reply.text)
        input_tokens = (
            len(request.message_tokens)
            if request.message_tokens is not None
            else (output_tokens if request.message == reply.text else None)
        )
        turn = Turn(
            node=node.alias,
            thread_id=thread.id,
            user_message_id=self.ids.new("msg_"),
            message_id=self.ids.new("msg_"),
            content=reply.text,
            tokens=tokens,
            model=node.model.name,
            usage=Usage(
                count_tokens(request.message) if input_tokens is None else input_tokens,
                output_tokens,
            ),
            created_at=now,
            trace_id=self.ids.new("trc_", 32),
            sources=sources,
            interruption=cut,
            delays=recorded_delays(recorded, node.model.speed) if recorded else None,
        )
        return turn, _records(turn, request, reply)


def _rule_hits(messages: Sequence[MessageRecord]) -> dict[int, int]:
    hits: dict[int, int] = {}
    for message in messages:
        rule = message.extra.get("rule")
        if message.role == "assistant" and isinstance(rule, int):
            hits[rule] = hits.get(rule, 0) + 1
    return hits


def _last_replay(messages: Sequence[MessageRecord]) -> Position | None:
    """Where the thread's last assistant message came from in a replay fixture, if it did."""
    for message in reversed(messages):
        if message.role == "assistant":
            at = message.extra.get("replay")
            if isinstance(at, list) and len(at) == 2 and all(isinstance(i, int) for i in at):
                return Position(at[0], at[1])
            return None
    return None


def _recorded_sources(turn: FixtureTurn) -> tuple[Source, ...]:
    return tuple(
        Source(i, s.id, s.title, s.url, s.source_type, s.score, s.snippet)
        for i, s in enumerate(turn.sources)
    )


def _records(turn: Turn, request: TurnRequest, reply: Reply) -> list[MessageRecord]:
    common = {"requestId": request.request_id, **request.extra}
    user = MessageRecord(
        turn.user_message_id,
        turn.thread_id,
        "user",
        request.message,
        turn.created_at,
        {**common, "tokens": turn.usage.input_tokens},
    )
    content, tokens, cut = turn.content, turn.usage.output_tokens, turn.interruption
    extra: dict[str, Any] = {}
    if reply.replay is not None:
        extra["replay"] = [reply.replay.conversation, reply.replay.turn]
    if cut is not None:
        # The thread keeps what a streaming client received before the fault.
        cut_at = cut.after
        parts = turn.tokens
        sent = parts.text(cut_at) if isinstance(parts, Tokens) else "".join(parts[:cut_at])
        content, tokens = sent, count_tokens(sent)
        extra["interrupted"] = cut.kind
    assistant = MessageRecord(
        turn.message_id,
        turn.thread_id,
        "assistant",
        content,
        turn.created_at,
        {
            **common,
            "model": turn.model,
            "tokens": tokens,
            "traceId": turn.trace_id,
            "rule": reply.rule,
            "sources": [s.id for s in turn.sources],
            **extra,
        },
    )
    return [user, assistant]
