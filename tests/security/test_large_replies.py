"""Huge replies: a template cannot render past the reply cap, and a long message's tokens
(made a chunk at a time, held compactly, or only counted) are exactly what the tokenizer
gives."""

from __future__ import annotations

import asyncio
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from emulator.core import tokens as tokens_module
from emulator.core.tokens import Tokens, count_tokens, tokenize
from tests.conftest import make_app

CONFIG = """\
version: 1
nodes:
  thrice:
    api: interlocute
    auth: {anonymous: true}
    model: {kind: echo, template: "{message}{message}{message}"}
  echo:
    api: interlocute
    auth: {anonymous: true}
"""


def test_a_template_past_the_reply_cap_is_refused_and_stores_nothing() -> None:
    message = "word " * 160_000  # 800 KB: three of them pass the 2 MiB cap
    with TestClient(make_app(CONFIG), base_url="http://127.0.0.1:8080") as client:
        response = client.post("/nodes/thrice/chat", json={"content": message})
        assert response.status_code == 500
        assert "longer than 2,097,152 characters" in response.json()["error"]["message"]
        assert client.get("/_emulator/threads").json()["threads"] == []
        small = client.post("/nodes/thrice/chat", json={"content": "ab "})
        assert small.json()["content"] == "ab ab ab "


def test_a_long_echo_counts_and_streams_every_token() -> None:
    message = "Hello, world! " * 5_000  # past the 16 KiB after which it is tokenized in chunks
    with TestClient(make_app(CONFIG), base_url="http://127.0.0.1:8080") as client:
        reply = client.post("/nodes/echo/chat", json={"content": message}).json()
        assert reply["content"] == message
        assert reply["usage"] == {
            "inputTokens": 20_001,
            "outputTokens": 20_001,
        }  # and the last space
        stream = client.post(
            "/nodes/echo/chat/stream",
            json={"content": message},
            headers={"Accept": "application/x-ndjson"},
        )
        lines = stream.text.splitlines()
        assert len(lines) == 1 + 20_001 + 1  # start, a line per token, done
        assert lines[1] == '{"type":"token","content":"Hello"}'


def test_chunked_tokens_are_the_tokenizers_tokens(monkeypatch: object) -> None:
    # Tiny chunks put a cut next to every kind of character.
    monkeypatch.setattr(tokens_module, "CHUNK_CHARS", 5)  # type: ignore[attr-defined]
    rng = random.Random(12)
    pieces = ["a", "bc", " ", "  ", "\n", "\t", "!", "?!", "é", "_", "9", "😀", ".\n"]
    for _ in range(1500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        want = tokenize(text)
        made, chunked = Tokens.of(text), asyncio.run(Tokens.of_async(text))
        assert list(made) == list(chunked) == want, text
        assert len(chunked) == len(want)
        assert [chunked[i] for i in range(-len(want), len(want))] == want + want
        for count in range(len(want) + 1):
            assert chunked.text(count) == "".join(want[:count])


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2030), max_size=40))
def test_counting_tokens_agrees_with_the_tokenizer(text: str) -> None:
    # ASCII text is counted without the regex: every ASCII character (controls, the 0x1c-0x1f
    # separators Python calls whitespace, punctuation) must be classed as the regex classes it.
    assert count_tokens(text) == len(tokenize(text))
    made = Tokens.of(text)
    assert len(made) == len(tokenize(text))  # counted, before any token is read
    assert list(made) == tokenize(text) and len(made) == len(tokenize(text))


def test_every_ascii_character_next_to_every_other_counts_as_the_tokenizer_says() -> None:
    ascii_chars = [chr(code) for code in range(128)]
    for a in ascii_chars:
        for b in ascii_chars:
            for text in (a + b, a + " " + b, b + a + b):
                assert count_tokens(text) == len(tokenize(text)), repr(text)
