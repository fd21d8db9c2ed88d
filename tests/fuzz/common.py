"""What the fuzzers share: the app under test, how many cases to try, and the properties every
answer must hold (never a 5xx, no traceback logged, each error in its API's format, nothing
stored for a rejected request)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from litestar import Litestar

from emulator.core.store import TinyStore
from tests.conftest import make_app

# `make test` tries a few cases per target, derandomized (the same cases every run);
# `make fuzz` sets FUZZ_EXAMPLES high and FUZZ_SEED to explore.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
CAMPAIGN = "FUZZ_SEED" in os.environ
DERANDOMIZE = not CAMPAIGN

# One node per API, open to anyone, so that generated requests get past auth to the handlers.
FUZZ_CONFIG = """
version: 1
nodes:
  support:
    api: interlocute
    name: Support
    model: echo
    auth: {anonymous: true}
  helpdesk:
    api: agent-slug
    name: Customer Support
    model: echo
    auth: {anonymous: true}
  researcher:
    api: sentientone
    name: Research
    model: echo
    auth: {anonymous: true}
    knowledge:
      - {id: doc-1, title: Warranty, text: Two years of warranty on every device.}
  widget:
    api: widget
    name: Widget
    model: echo
    auth: {anonymous: true}
"""

CASES = {"tried": 0}  # every fuzz case counts itself; `make fuzz` prints the total


def fuzz_app() -> tuple[Litestar, TinyStore]:
    store = TinyStore(None)
    return make_app(FUZZ_CONFIG, store=store), store


def stored(store: TinyStore) -> tuple[int, int]:
    """How many threads and messages the store holds."""
    threads = store.list_threads()
    return len(threads), sum(store.message_count(t.id) for t in threads)


class Tracebacks(logging.Handler):
    """Collects every log record that carries an exception (a traceback in the server log)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Traceback (most recent call last)" in record.getMessage():
            self.seen.append(f"{record.name}: {record.getMessage()}")


def watching_tracebacks() -> Iterator[Tracebacks]:
    handler = Tracebacks()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def api_of(path: str) -> str | None:
    """The API a fuzzed path on the fuzz config addresses, if one does unambiguously."""
    rest = path
    if path.startswith("/nodes/"):
        alias, _, tail = path.removeprefix("/nodes/").partition("/")
        aliases = {"support": "interlocute", "helpdesk": "agent-slug"}
        aliases |= {"researcher": "sentientone", "widget": "widget"}
        if alias in aliases:
            return aliases[alias]
        rest = "/" + tail
    if rest.startswith(("/chit", "/chat/stream")):
        return "interlocute"
    if rest.startswith("/v1/api/"):
        return "agent-slug"
    if rest.startswith("/v1/chat") and rest != "/v1/chat/stream":
        return "sentientone"
    return None  # a shared path: either API's format is right


def error_format(body: bytes) -> str | None:
    """Which API's error format `body` is in, or None if it is in none."""
    try:
        value: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    error = value.get("error")
    if set(value) == {"error"} and isinstance(error, str):
        return "widget"
    if set(value) == {"data", "error"} and value["data"] is None and isinstance(error, dict):
        if set(error) == {"name", "message", "details"}:
            return "agent-slug"
        return None
    if not isinstance(error, dict) or set(error) != {"code", "message"}:
        return None
    if set(value) == {"error", "trace_id"}:
        return "sentientone"
    return "interlocute" if set(value) == {"error"} else None


def check_error(status: int, path: str, body: bytes, apis: tuple[str, ...]) -> None:
    """An API error answer is in the format of the API its path addresses."""
    assert status < 500, f"{status} on {path}: {body[:300]!r}"
    if status < 400 or path.startswith("/_emulator"):
        return
    seen = error_format(body)
    wanted = api_of(path)
    assert seen is not None, f"{status} on {path} in no API's format: {body[:300]!r}"
    if wanted is not None:
        assert seen == wanted, f"{status} on {path} in {seen}'s format, not {wanted}'s"
    else:
        assert seen in apis, f"{status} on {path} in {seen}'s format"
