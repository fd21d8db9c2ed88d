"""The pure parts of /chit: sheets by verbosity, Accept parsing, ETags, text labels."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from emulator.apis.interlocute.chit import facts
from emulator.apis.interlocute.chit.etag import etag, none_match
from emulator.apis.interlocute.chit.negotiate import negotiate, parse_accept
from emulator.apis.interlocute.chit.render import label
from emulator.config.loader import parse_config
from emulator.config.model import CHIT_SECTIONS, VERBOSITIES
from emulator.core.errors import InvalidRequest, NotAcceptable
from tests.conftest import TEST_CONFIG

RUNTIME = facts.Runtime("2026-01-01T00:00:00.000Z", 5, 2, "2026-01-01T00:00:01.000Z", 3)


def contained(lower: Any, higher: Any) -> bool:
    """Whether `higher` has everything `lower` has, unchanged: keys may only be added."""
    if isinstance(lower, dict):
        return isinstance(higher, dict) and all(
            key in higher and contained(value, higher[key]) for key, value in lower.items()
        )
    if isinstance(lower, list):
        return (
            isinstance(higher, list)
            and len(lower) == len(higher)
            and all(contained(a, b) for a, b in zip(lower, higher, strict=True))
        )
    return bool(lower == higher)


def without_level(sheet: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in sheet.items() if key != "verbosity"}


@pytest.mark.parametrize("section", CHIT_SECTIONS)
@pytest.mark.parametrize("alias", ["support", "echo", "anykey"])
def test_higher_verbosity_only_adds(section: str, alias: str) -> None:
    node = parse_config(TEST_CONFIG).nodes[alias]
    sheets = [facts.BUILDERS[section](node, level, RUNTIME) for level in VERBOSITIES]
    for lower, higher in itertools.pairwise(sheets):
        assert contained(without_level(lower), higher)
        assert set(lower) <= set(higher)


def test_the_node_id_is_stable_and_per_alias() -> None:
    config = parse_config(TEST_CONFIG)
    ids = {facts.node_id(node) for node in config.nodes.values()}
    assert len(ids) == len(config.nodes)
    assert facts.node_id(config.nodes["support"]) == "nd_a18603086e5b"


def test_pricing_summary() -> None:
    node = parse_config("""
nodes:
  a:
    api: interlocute
    pricing: {input_per_1k_tokens: 0.5, output_per_1k_tokens: 1.5, currency: EUR}
""").nodes["a"]
    sheet = facts.pricing(node, "standard", RUNTIME)
    assert sheet["summary"] == "EUR 0.5 per 1k input tokens, EUR 1.5 per 1k output tokens"
    assert (sheet["inputPer1kTokens"], sheet["outputPer1kTokens"]) == (0.5, 1.5)


@pytest.mark.parametrize(
    ("header", "count"), [("", 0), (",", 0), ("a/b, ,c/d;q=0.5;x=y", 2), ("*/*;q=1.000", 1)]
)
def test_parse_accept_counts_ranges(header: str, count: int) -> None:
    assert len(parse_accept(header)) == count


def test_negotiate_errors() -> None:
    with pytest.raises(NotAcceptable):
        negotiate("image/png")
    with pytest.raises(InvalidRequest):
        negotiate("text/plain;q=.5")
    assert negotiate(" , ") == "application/json"


def test_etags_and_if_none_match() -> None:
    tag = etag(b"abc")
    assert tag == etag(b"abc") != etag(b"abd")
    assert none_match(tag, tag) and none_match(f'"x", W/{tag}', tag) and none_match(" * ", tag)
    assert not none_match(None, tag) and not none_match('"x"', tag)


@pytest.mark.parametrize(
    ("key", "text"),
    [("nodeId", "Node ID"), ("inputPer1kTokens", "Input per 1k tokens"), ("rag", "RAG")],
)
def test_labels(key: str, text: str) -> None:
    assert label(key) == text
