"""Knowledge ranking for sources: deterministic, ties by document order, nothing when irrelevant."""

from __future__ import annotations

from emulator.config.loader import parse_config
from emulator.config.model import Node
from emulator.core.sources import relevance, snippet, sources_for, terms

CONFIG = """
version: 1
nodes:
  lib:
    api: sentientone
    name: Library
    model: echo
    knowledge:
      - {id: a, title: Shipping, text: Orders ship within two business days.}
      - {id: b, title: Returns, text: Orders can be returned within 30 days for a refund.}
      - {id: c, title: Long, text: "%s"}
"""
LONG = " ".join(["filler"] * 60) + " the battery lasts ten hours " + " ".join(["filler"] * 10)


def node() -> Node:
    return parse_config(CONFIG % LONG, "test.yaml").nodes["lib"]


def test_terms_are_lowercase_words_without_stopwords() -> None:
    assert terms("How do I return THE order's box?") == {"return", "order's", "box"}


def test_ranked_by_score_then_document_order() -> None:
    found = sources_for(node(), "when do orders ship", ())
    assert [(s.index, s.id, s.score) for s in found] == [(0, "a", 1.0), (1, "b", 0.5)]


def test_ties_keep_document_order() -> None:
    assert [s.id for s in sources_for(node(), "orders", ())] == ["a", "b"]


def test_nothing_relevant_gives_no_sources() -> None:
    assert sources_for(node(), "the weather today", ()) == ()
    assert sources_for(node(), "what is it", ()) == ()  # only stopwords


def test_cited_sources_win_with_full_score() -> None:
    found = sources_for(node(), "orders", ("b",))
    assert [(s.id, s.score) for s in found] == [("b", 1.0)]


def test_score_is_rounded_share_of_terms() -> None:
    doc = node().knowledge[0]
    assert relevance("ship orders quickly", doc) == 0.6667


def test_snippet_starts_near_the_best_match() -> None:
    (found,) = sources_for(node(), "battery life", ())
    assert found.snippet.startswith("…battery lasts ten hours")
    assert len(found.snippet) <= 162


def test_short_text_is_its_own_snippet() -> None:
    assert snippet("short text", 6) == "short text"
