"""Frames due at the same moment go out in one write; with latency, each token when due.

The request journal keeps a stream as the chunks it was written in, with their times, so it
shows how the bytes left the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.realism import APIS, Api, serve
from tests.conftest import FakeClock

MESSAGE = "one two three four five six"  # six tokens, echoed


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
def test_without_latency_a_stream_is_three_writes(api: Api) -> None:
    with serve(api.name, "") as client:
        body, chunks = written(client, api, "req-fast")
    assert "".join(chunks) == body
    with_tokens = [tokens for tokens in map(token_frames(api), chunks) if tokens]
    assert with_tokens == [api.frames(body)[0]]  # every token in one write
    assert "".join(with_tokens[0]) == MESSAGE
    assert len(chunks) <= 3  # and the start before it, the end after it, each on its own


@pytest.mark.parametrize("api", APIS.values(), ids=APIS.keys())
def test_with_latency_each_token_is_its_own_write(api: Api) -> None:
    block = "latency: {first_token_ms: 50, tokens_per_second: 100}"
    with serve(api.name, block, clock=FakeClock()) as client:
        body, chunks = written(client, api, "req-slow")
    assert "".join(chunks) == body
    with_tokens = [tokens for tokens in map(token_frames(api), chunks) if tokens]
    assert with_tokens == [[token] for token in api.frames(body)[0]]
    assert len(with_tokens) == 6
