"""Sources a reply cites: the matching rule's `sources`, else the node's knowledge by relevance."""

from __future__ import annotations

import re

import msgspec

from emulator.config.model import KnowledgeDoc, Node

SNIPPET_CHARS = 160
SCORE_DIGITS = 4
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Words too common to say a document is about the question.
_COMMON = (
    "a an and are as at be but by can do does for from how i in is it its me my of on or our "
    "please so that the their there this to was we what when where which who why will with you "
    "your"
)
STOPWORDS = frozenset(_COMMON.split())


class Source(msgspec.Struct, frozen=True):
    index: int
    id: str
    title: str
    url: str | None
    source_type: str
    score: float
    snippet: str


def sources_for(node: Node, message: str, cited: tuple[str, ...]) -> tuple[Source, ...]:
    """The documents a rule cites (in the rule's order, full relevance); without a citing rule,
    the node's knowledge ranked by `relevance`, leaving out documents that share no term."""
    if not cited and not node.knowledge:
        return ()
    if cited:
        docs = [doc for doc in map(node.knowledge_by_id, cited) if doc is not None]
        return tuple(_source(i, doc, 1.0, snippet(doc.text)) for i, doc in enumerate(docs))
    scored = [(relevance(message, doc), order, doc) for order, doc in enumerate(node.knowledge)]
    ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
    return tuple(
        _source(i, doc, score, snippet(doc.text, best_match(message, doc.text)))
        for i, (score, _, doc) in enumerate(ranked)
    )


def terms(text: str) -> set[str]:
    """Lowercase word tokens of `text`, without stopwords."""
    return {word for word in _WORD.findall(text.lower()) if word not in STOPWORDS}


def relevance(message: str, doc: KnowledgeDoc) -> float:
    """The share of the message's terms found in the document's title or text, in [0, 1]."""
    asked = terms(message)
    if not asked:
        return 0.0
    found = asked & terms(f"{doc.title} {doc.text}")
    return round(len(found) / len(asked), SCORE_DIGITS)


def best_match(message: str, text: str) -> int:
    """Where in `text` the first of the message's terms occurs (0 when none does)."""
    asked = terms(message)
    for match in _WORD.finditer(text.lower()):
        if match.group() in asked:
            return match.start()
    return 0


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
