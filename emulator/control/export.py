"""A stored thread as a replay fixture: GET /_emulator/threads/{id}/fixture."""

from __future__ import annotations

from collections.abc import Sequence

from emulator.config.model import Node
from emulator.core.fixtures import Conversation, Fixture, FixtureTurn, Frame, RecordedSource
from emulator.core.records import MessageRecord, ThreadRecord
from emulator.core.sources import snippet
from emulator.core.tokens import tokenize


def thread_fixture(
    thread: ThreadRecord, messages: Sequence[MessageRecord], node: Node | None
) -> Fixture:
    """One conversation: each user message with the reply that followed it, one frame per
    token at 0 ms (the thread keeps no timing; `emulator record` does). Cited sources are
    filled in from the node's knowledge when the node still has the document."""
    turns: list[FixtureTurn] = []
    pending: MessageRecord | None = None
    for message in messages:
        if message.role == "user":
            pending = message
        elif pending is not None:
            frames = tuple(Frame(token, 0) for token in tokenize(message.content))
            turns.append(FixtureTurn(pending.content, frames, _sources(message, node)))
            pending = None
    return Fixture((Conversation(tuple(turns), thread.id),), api=thread.api)


def _sources(message: MessageRecord, node: Node | None) -> tuple[RecordedSource, ...]:
    cited = message.extra.get("sources")
    if not isinstance(cited, list):
        return ()
    sources = []
    for ident in cited:
        doc = node.knowledge_by_id(str(ident)) if node is not None else None
        if doc is None:
            sources.append(RecordedSource(str(ident), str(ident)))
        else:
            sources.append(
                RecordedSource(doc.id, doc.title, doc.url, doc.source_type, 1.0, snippet(doc.text))
            )
    return tuple(sources)
