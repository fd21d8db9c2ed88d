"""Frames due at the same moment go out in one write; with latency, each token when due.

The request journal keeps a stream as the chunks it was written in, with their times, so it
shows how the bytes left the server.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib import import_module
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from emulator.core.events import Token
from tests.apis.realism import APIS, Api, serve
from tests.conftest import FakeClock

MESSAGE = "one two three four five six"  # six tokens, echoed
# Text JSON and SSE treat specially: escapes, line breaks, separators, non-ASCII.
TRICKY = [
    "",
    " ",
    'a "quoted" \\ word',
    "line\nbreak\r\n",
    "\u2028\u2029",
    "\x00\x1f\x7f",
    "é😀",
    "data: x",
]


def written(client: TestClient[Any], api: Api, request_id: str) -> tuple[str, list[str]]:
    """The streamed body, and the chunks it was written in."""
    headers = {**api.headers(), "X-Request-Id": request_id}
    answer = client.post(api.stream_path, json=api.body(MESSAGE), headers=headers)
    assert answer.status_code == 200
    frames = client.get(f"/_emulator/journal/{request_id}").json()["response"]["frames"]
    return answer.text, [frame["data"] for frame in frames]


def token_frames(api: Api) -> Callable[[str], list[str]]:
    return lambda chunk: api.frames(chunk)[0]


@pytest.mark.parametrize("api", APIS.values(), ids=APIS.keys())
def test_without_latency_a_stream_is_one_write(api: Api) -> None:
    with serve(api.name, "") as client:
        body, chunks = written(client, api, "req-fast")
    assert chunks == [body]  # start, every token and the end: all due at once
    assert "".join(api.frames(body)[0]) == MESSAGE


@pytest.mark.parametrize("api", APIS.values(), ids=APIS.keys())
def test_with_latency_each_token_is_its_own_write(api: Api) -> None:
    block = "latency: {first_token_ms: 50, tokens_per_second: 100}"
    with serve(api.name, block, clock=FakeClock()) as client:
        body, chunks = written(client, api, "req-slow")
    assert "".join(chunks) == body
    with_tokens = [tokens for tokens in map(token_frames(api), chunks) if tokens]
    assert with_tokens == [[token] for token in api.frames(body)[0]]
    assert len(with_tokens) == 6


def _token_encoders() -> list[Any]:
    # The modules, not the `chat` handlers their packages export under the same name.
    agent_slug, interlocute, sentientone, widget = (
        import_module(f"emulator.apis.{name}.chat")
        for name in ("agent_slug", "interlocute", "sentientone", "widget")
    )

    cases = [
        pytest.param(agent_slug.token_bytes, agent_slug.encode_event, id="agent-slug"),
        pytest.param(sentientone.token_bytes, sentientone.encode_event, id="sentientone"),
        pytest.param(widget.token_bytes, widget.encode_event, id="widget"),
    ]
    for media_type, fast in interlocute.TOKEN_BYTES.items():
        encode = partial(interlocute.encode_event, media_type=media_type)
        cases.append(pytest.param(fast, encode, id=f"interlocute {media_type}"))
    return cases


@pytest.mark.parametrize(("fast", "encode"), _token_encoders())
@settings(max_examples=60, deadline=None)
@given(text=st.text() | st.sampled_from(TRICKY))
def test_a_token_s_frame_written_out_is_the_frame_its_api_encodes(
    fast: Callable[[str], bytes], encode: Any, text: str
) -> None:
    frame = encode(Token(text, 0))
    assert fast(text) == (b"" if frame is None else frame.encode())
