"""Typed, validated node definitions: what `nodes.yaml` becomes.

Everything here is immutable. A reload builds a whole new `Config` and swaps it in one step,
so a request always sees one consistent config from start to finish.

The classes are frozen msgspec Structs, not dataclasses: they compare and hash by value the same
way, and a Struct class is made about 40 times faster (this module's import was 12 ms of
`emulator serve`'s start-up as dataclasses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypeVar

import msgspec

if TYPE_CHECKING:  # imported where a config compiles one (about 25 ms of start-up)
    import regex

V = TypeVar("V")

ApiName = Literal["interlocute", "agent-slug", "sentientone", "widget"]
API_NAMES: tuple[ApiName, ...] = ("interlocute", "agent-slug", "sentientone", "widget")

ModelKind = Literal["echo", "scripted", "lorem", "replay"]
MODEL_KINDS: tuple[ModelKind, ...] = ("echo", "scripted", "lorem", "replay")

Verbosity = Literal["low", "standard", "high"]
VERBOSITIES: tuple[Verbosity, ...] = ("low", "standard", "high")

CHIT_SECTIONS: tuple[str, ...] = ("identity", "status", "invocations", "pricing")
CHIT_CUSTOM_FORMATS: tuple[str, ...] = ("text/plain", "text/markdown")

ALIAS_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

CAPABILITY_NAMES: tuple[str, ...] = ("memory", "rag", "toolUse", "streaming", "scheduling")


def slugify(name: str) -> str:
    """ "Customer Support" -> "customer-support", as the agent-slug platform derives slugs."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def frozen_map(items: Mapping[str, V] | None = None) -> Mapping[str, V]:
    return MappingProxyType(dict(items or {}))


class Location(msgspec.Struct, frozen=True):
    """Where something was written, for error messages: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Matcher(msgspec.Struct, frozen=True):
    """A rule's or a fault's `when`. Every condition given must hold; none given never matches
    unless `any` is true."""

    contains: str | None = None
    equals: str | None = None
    # Compiled once per config generation with the `regex` module, for its match timeout.
    regex: regex.Pattern[str] | None = None
    turn: int | None = None
    any: bool = False
    # Where the regex was written, to name it when it times out; not part of what it does.
    regex_at: Location | None = None

    # Equality and hashing leave `regex_at` out: two matchers that match the same messages are
    # equal wherever they are written. The reloader tells changed nodes by value, and fault
    # counters are keyed by fault, so moving a regex in the file must change neither.
    def _key(self) -> tuple[object, ...]:
        return (self.contains, self.equals, self.regex, self.turn, self.any)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Matcher:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


class Rule(msgspec.Struct, frozen=True):
    when: Matcher
    replies: tuple[str, ...]  # `reply: x` becomes ("x",); in order, the last repeats
    sources: tuple[str, ...] = ()  # knowledge ids this rule cites


class ModelSpec(msgspec.Struct, frozen=True):
    kind: ModelKind = "echo"
    name: str = "emulator-echo"  # what responses and chit report as the model
    rules: tuple[Rule, ...] = ()
    # "echo" | "lorem" | a literal reply; None (replay only): a miss is an error
    fallback: str | None = "echo"
    template: str | None = None  # echo: e.g. "You said: {message}"
    fixture: str | None = None  # replay: fixture name under the fixtures directory
    speed: float = 1.0  # replay: timing multiplier (2.0 = twice as fast)
    parameters: Mapping[str, object] = msgspec.field(default_factory=frozen_map)  # reported by chit


class Jwt(msgspec.Struct, frozen=True):
    secret: str
    audience: str | None = None
    issuer: str | None = None
    require_exp: bool = True  # a token without `exp` would open the node forever


class Auth(msgspec.Struct, frozen=True):
    api_keys: tuple[str, ...] = ()
    jwt: Jwt | None = None
    anonymous: bool = False

    @property
    def any_key(self) -> bool:
        """With neither keys nor JWT configured, any non-empty credential passes."""
        return not self.api_keys and self.jwt is None


class Latency(msgspec.Struct, frozen=True):
    first_token_ms: float = 0.0
    tokens_per_second: float = 0.0  # 0 = as fast as possible
    jitter: float = 0.0  # 0..1, fraction of each delay randomised (seeded)
    delay_ms: float = 0.0  # a stall before the first byte of the response (client timeouts)

    @property
    def paced(self) -> bool:
        """Whether tokens wait at all (or draw jitter): most nodes answer as fast as possible."""
        return self.first_token_ms > 0 or self.tokens_per_second > 0 or self.jitter > 0


class Fault(msgspec.Struct, frozen=True):
    when: Matcher | None = None
    status: int | None = None
    retry_after: int | None = None
    stream_error_after: int | None = None
    disconnect_after: int | None = None
    rate: float | None = None  # 0..1 seeded probability
    times: int | None = None  # the first N matching requests fail
    message: str | None = None


class RateLimit(msgspec.Struct, frozen=True):
    requests: int
    per_seconds: float


class KnowledgeDoc(msgspec.Struct, frozen=True):
    id: str
    title: str
    text: str
    url: str | None = None
    source_type: str = "document"


class Tool(msgspec.Struct, frozen=True):
    name: str
    description: str | None = None
    parameters: Mapping[str, object] = msgspec.field(default_factory=frozen_map)


class ChitSection(msgspec.Struct, frozen=True):
    enabled: bool = True
    mode: Literal["standard", "custom"] = "standard"
    format: str | None = None  # custom only: text/plain | text/markdown
    body: str | None = None  # custom only


class Chit(msgspec.Struct, frozen=True):
    enabled: bool = True
    verbosity: Verbosity = "standard"
    sections: Mapping[str, ChitSection] = msgspec.field(default_factory=frozen_map)

    def section(self, name: str) -> ChitSection:
        return self.sections.get(name, ChitSection())


class Pricing(msgspec.Struct, frozen=True):
    """Optional `pricing:` block; chit says "free in the emulator" when absent."""

    currency: str = "USD"
    input_per_1k_tokens: float | None = None
    output_per_1k_tokens: float | None = None
    notes: str | None = None


class Node(msgspec.Struct, frozen=True):
    alias: str
    api: ApiName
    name: str
    description: str = ""
    model: ModelSpec = msgspec.field(default_factory=ModelSpec)
    auth: Auth = msgspec.field(default_factory=Auth)
    capabilities: Mapping[str, bool] = msgspec.field(default_factory=frozen_map)
    tools: tuple[Tool, ...] = ()
    knowledge: tuple[KnowledgeDoc, ...] = ()
    chit: Chit = msgspec.field(default_factory=Chit)
    latency: Latency = msgspec.field(default_factory=Latency)
    faults: tuple[Fault, ...] = ()
    rate_limit: RateLimit | None = None
    pricing: Pricing | None = None
    location: Location | None = None

    @property
    def slug(self) -> str:
        return slugify(self.name)

    def knowledge_by_id(self, doc_id: str) -> KnowledgeDoc | None:
        return next((doc for doc in self.knowledge if doc.id == doc_id), None)


class Config(msgspec.Struct, frozen=True):
    nodes: Mapping[str, Node]  # alias -> node, in file order
    path: str | None = None
    version: int = 1

    def nodes_of(self, api: str) -> list[Node]:
        return [node for node in self.nodes.values() if node.api == api]
