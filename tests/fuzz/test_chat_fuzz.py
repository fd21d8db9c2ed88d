"""A hypothesis fuzzer for every chat endpoint of the four APIs: hostile bodies (wrong types,
huge and deep values, invalid UTF-8, raw surrogate bytes, NUL, giant numbers) and headers
(huge, duplicated, odd Accept and Content-Type). Every answer: never a 5xx, no traceback in
the log, each error in the addressed API's format, nothing stored for a rejected request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from tests.fuzz.common import (
    CASES,
    DERANDOMIZE,
    EXAMPLES,
    Tracebacks,
    check_error,
    fuzz_app,
    stored,
    watching_tracebacks,
)

# api -> (alias, paths, the body's fields)
ENDPOINTS: dict[str, tuple[str, list[str], list[str]]] = {
    "interlocute": ("support", ["/chat", "/chat/stream"], ["content", "threadId"]),
    "agent-slug": (
        "helpdesk",
        ["/v1/api/chat/helpdesk", "/v1/api/chat/customer-support"],
        ["message", "stream", "conversationId"],
    ),
    "sentientone": ("researcher", ["/v1/chat/stream", "/v1/chat"], ["message", "conversation_id"]),
    "widget": ("widget", ["/v1/chat/stream", "/chat"], ["sessionId", "message"]),
}
TARGETS = [
    (api, path, form)
    for api, (_, paths, _) in ENDPOINTS.items()
    for path in paths
    for form in ("path", "host", "bare")
]
SHARED = {"/chat": ("interlocute", "widget"), "/v1/chat/stream": ("sentientone", "widget")}

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\u2028", "\ufeff", "😀" * 10]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

# Bodies no JSON encoder writes: each of them is the class of input a finding came from.
RAW_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"\xff\xfe\xfd",  # invalid UTF-8
    b'{"content":"\xed\xa0\x80","message":"\xed\xa0\x80","sessionId":"s"}',  # raw surrogate
    b'{"content":"\\ud800","message":"\\udfff","sessionId":"s"}',  # lone surrogate escapes
    b'{"content":"a\x00b","message":"a\x00b","sessionId":"s"}',  # raw NUL in a string
    b'{"content":1' + b"0" * 5000 + b"}",  # a giant number
    b'{"message":1e999999,"content":-1e999999}',
    b"[" * 100_000 + b"]" * 100_000,  # deep nesting
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"content":"' + b"x" * (1024 * 1024) + b'"}',  # just over the 1 MiB cap
    b"\x00" * 64,
    b'{"content":"hi","content":"again","message":"hi","message":"x","sessionId":"s"}',
]


@st.composite
def bodies(draw: st.DrawFn, fields: list[str]) -> bytes:
    kind = draw(st.sampled_from(["fields", "any", "raw", "bytes"]))
    if kind == "raw":
        return draw(st.sampled_from(RAW_BODIES))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "any":
        return json.dumps(draw(json_value)).encode()
    body = {name: draw(json_value) for name in fields if draw(st.booleans())}
    return json.dumps(body, ensure_ascii=draw(st.booleans())).encode()


ACCEPTS = [
    "text/event-stream",
    "application/x-ndjson",
    "text/plain",
    "*/*",
    "text/*;q=0.1, application/json;q=0.9",
    "application/x-ndjson;q=abc",
    ";;;,,,",
    "text/plain;q=0",
    "\u00e9/\u00e9",
    "x" * 4000,
]
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "application/json; charset=utf-16",
    "",
    "*/*",
]


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    sent: list[tuple[str, str]] = []
    if draw(st.booleans()):
        sent.append(("Accept", draw(st.sampled_from(ACCEPTS) | st.text(max_size=30))))
    if draw(st.booleans()):
        sent.append(("Content-Type", draw(st.sampled_from(CONTENT_TYPES))))
    if draw(st.booleans()):  # duplicated headers, as a proxy might send them
        name = draw(st.sampled_from(["Accept", "Content-Type", "X-Request-Id", "X-Agent-Id"]))
        sent += [(name, "application/json"), (name, draw(st.text(max_size=20)))]
    if draw(st.booleans()):
        sent.append(("X-Request-Id", "r" * draw(st.sampled_from([1, 300, 8000]))))
    if draw(st.booleans()):
        sent.append(("X-Huge", "h" * 16_000))
    # Header values go on the wire as bytes: latin-1 where it can, "?" where it cannot.
    return [(k.encode(), v.encode("latin-1", "replace")) for k, v in sent]


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[TestClient[Any], Any]]:
    app, store = fuzz_app()
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client, store


@pytest.fixture
def tracebacks() -> Iterator[Tracebacks]:
    yield from watching_tracebacks()


@pytest.mark.parametrize(("api", "path", "form"), TARGETS)
def test_chat_endpoint(
    target: tuple[TestClient[Any], Any], tracebacks: Tracebacks, api: str, path: str, form: str
) -> None:
    client, store = target
    alias, _, fields = ENDPOINTS[api]

    @settings(
        max_examples=EXAMPLES,
        derandomize=DERANDOMIZE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=bodies(fields), sent=headers())
    def fuzz(body: bytes, sent: list[tuple[bytes, bytes]]) -> None:
        CASES["tried"] += 1
        url = f"/nodes/{alias}{path}" if form == "path" else path
        extra = [(b"Host", f"{alias}.localhost:8080".encode())] if form == "host" else []
        before = stored(store)
        response = client.post(url, content=body, headers=sent + extra)
        assert tracebacks.seen == [], tracebacks.seen
        apis = SHARED.get(path, (api,)) if form == "bare" else (api,)
        shown = url if form != "host" else f"/nodes/{alias}{path}"
        check_error(response.status_code, shown, response.content, apis)
        if response.status_code >= 400:
            assert stored(store) == before, f"a rejected request stored something: {body[:80]!r}"

    fuzz()
