"""The recording side of the proxy: one `TurnRecording` per chat call collects the reply's
frames with their arrival times; the `Recorder` redacts the turn and appends it to the fixture.

Only the user's message, the frames, the sources and the conversation id are written, and all
of them go through `redact()` first, with the request's own credentials and the configured
secrets: no header, key or token ever reaches a file.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

import anyio.to_thread
import msgspec

from emulator.config.errors import ConfigError
from emulator.config.fixtures import FixtureLibrary
from emulator.config.model import Config
from emulator.core.fixtures import REDACTED, FixtureTurn, Frame, redact
from emulator.core.redaction import Redactor
from emulator.record.transcript import ChatCall, ReplyReader

log = logging.getLogger("emulator")

# Headers that carry credentials, besides any whose name ends in -key, -token or -secret.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "api-key"})


def credentials(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Every credential a request carries: header values, the token after `Bearer ` or
    `Basic ` (and a Basic password), each cookie's value."""
    found: set[str] = set()
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            found.update(part.partition("=")[2].strip() for part in value.split(";"))
        elif name in CREDENTIAL_HEADERS or name.endswith(("-key", "-token", "-secret")):
            found.add(value.strip())
            scheme, _, token = value.strip().partition(" ")
            found.add(token.strip())
            if scheme.lower() == "basic":
                found.add(_basic_password(token.strip()))
    return {secret for secret in found if secret}


def _basic_password(token: str) -> str:
    try:
        return base64.b64decode(token, validate=True).decode().partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return ""


def configured_secrets(config: Config) -> set[str]:
    """Every API key and JWT secret of every node."""
    found: set[str] = set()
    for node in config.nodes.values():
        found.update(node.auth.api_keys)
        if node.auth.jwt is not None:
            found.add(node.auth.jwt.secret)
    return {secret for secret in found if secret}


class TurnRecording(msgspec.Struct):
    """One chat call's reply as it streams through: its frames and when each arrived."""

    call: ChatCall
    reader: ReplyReader
    secrets: frozenset[str]
    frames: list[Frame] = msgspec.field(default_factory=list)

    def feed(self, chunk: bytes, ms: int) -> None:
        self.frames.extend(Frame(text, ms) for text in self.reader.feed(chunk))

    def finish(self, ms: int) -> Outcome:
        """The body ended normally at `ms`: the redacted turn, or why there is none."""
        ending = self.reader.close()
        self.frames.extend(Frame(text, ms) for text in ending.texts)
        if ending.problem is not None:
            return Outcome(None, None, ending.problem)
        transcript = ending.transcript
        turn = FixtureTurn(self.call.message, tuple(self.frames), transcript.sources)
        conversation = _hide(transcript.conversation_id, self.secrets)
        return Outcome(redact(turn, self.secrets), conversation, None)


class Outcome(msgspec.Struct, frozen=True):
    turn: FixtureTurn | None
    conversation_id: str | None
    problem: str | None  # why nothing is recorded, when `turn` is None


class RecordMode(StrEnum):
    """What happens to a fixture that already exists when recording starts."""

    APPEND = "append"  # recorded turns join it (a conversation it holds continues)
    NEW = "new"  # the first turn recorded replaces it; until then it is left alone


class Recorder:
    """Appends recorded turns to one fixture file."""

    def __init__(
        self,
        library: FixtureLibrary,
        name: str,
        *,
        api: str,
        upstream: str,
        secrets: Iterable[str] = (),
        mode: RecordMode = RecordMode.APPEND,
    ) -> None:
        self.library = library
        self._fresh = mode is RecordMode.NEW  # until the first turn is saved
        self.name = name
        self.api = api
        self.secrets = frozenset(s for s in secrets if s)
        self.upstream = _hide(upstream, self.secrets) or upstream
        self.header = (
            f"Recorded by `emulator record --api {api}` from {self.upstream}.\n"
            f"Replay it with a node whose model is {{kind: replay, fixture: {name}}}."
        )

    @property
    def path(self) -> Path:
        return self.library.path(self.name)

    def start(
        self, call: ChatCall, reader: ReplyReader, request_secrets: Iterable[str]
    ) -> TurnRecording:
        return TurnRecording(call, reader, self.secrets | frozenset(request_secrets))

    async def save(self, turn: FixtureTurn, conversation_id: str | None) -> None:
        """Append the turn (file I/O off the event loop) and log one line saying where."""
        try:
            number = await anyio.to_thread.run_sync(self._append, turn, conversation_id)
        except ConfigError as exc:  # a broken fixture, or a symlink out of the directory
            log.warning("turn not recorded: %s", exc)
            return
        which = f"conversation {conversation_id}" if conversation_id else "a new conversation"
        log.info("recorded turn %d of %s into %s", number, which, self.path)

    def _append(self, turn: FixtureTurn, conversation_id: str | None) -> int:
        self.library.append(
            self.name,
            conversation_id,
            turn,
            api=self.api,
            upstream=self.upstream,
            header=self.header,
            fresh=self._fresh,
        )
        self._fresh = False
        conversations = self.library.load(self.name).conversations
        if conversation_id is None:
            return len(conversations[-1].turns)
        return next((len(c.turns) for c in conversations if c.id == conversation_id), 1)


def _hide(text: str | None, secrets: Iterable[str]) -> str | None:
    return None if text is None else Redactor(secrets).hide(text, REDACTED)
