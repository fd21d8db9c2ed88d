"""Sources a reply cites: the matching rule's `sources`, as knowledge documents."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.config.model import KnowledgeDoc, Node

SNIPPET_CHARS = 160


@dataclass(frozen=True, slots=True)
class Source:
    index: int
    id: str
    title: str
    url: str | None
    source_type: str
    score: float
    snippet: str


def sources_for(node: Node, message: str, cited: tuple[str, ...]) -> tuple[Source, ...]:
    """The documents a rule cites, in the rule's order, each with full relevance."""
    docs = [doc for doc in map(node.knowledge_by_id, cited) if doc is not None]
    return tuple(_source(i, doc, 1.0, snippet(doc.text)) for i, doc in enumerate(docs))


def snippet(text: str, start: int = 0) -> str:
    """Up to SNIPPET_CHARS characters of `text` from about `start`, cut at word boundaries."""
    if len(text) <= SNIPPET_CHARS:
        return text
    begin = max(0, text.rfind(" ", 0, start) + 1) if start else 0
    end = text.rfind(" ", begin, begin + SNIPPET_CHARS)
    end = end if end > begin else begin + SNIPPET_CHARS
    prefix = "…" if begin else ""
    suffix = "…" if end < len(text) else ""
    return prefix + text[begin:end] + suffix


def _source(index: int, doc: KnowledgeDoc, score: float, text: str) -> Source:
    return Source(index, doc.id, doc.title, doc.url, doc.source_type, score, text)
