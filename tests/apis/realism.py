"""One node per API with a given `faults` / `rate_limit` block, and how to talk to each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from tests.apis.golden import ndjson, sse_data
from tests.conftest import FakeClock, make_app


@dataclass(frozen=True)
class Api:
    name: str
    stream_path: str
    chat_path: str | None  # the non-streaming endpoint, if the API has one
    key_header: str
    key_prefix: str = ""

    def headers(self, key: str = "key-1") -> dict[str, str]:
        headers = {self.key_header: self.key_prefix + key}
        if self.name == "sentientone":
            headers["X-Agent-Id"] = "n"
        return headers

    def body(self, message: str, *, stream: bool = True) -> dict[str, Any]:
        if self.name == "interlocute":
            return {"content": message}
        if self.name == "agent-slug":
            return {"message": message, "stream": stream}
        if self.name == "widget":
            return {"sessionId": "s1", "message": message}
        return {"message": message}

    def stream(self, client: TestClient[Any], message: str, key: str = "key-1") -> Any:
        return client.post(self.stream_path, json=self.body(message), headers=self.headers(key))

    def chat(self, client: TestClient[Any], message: str, key: str = "key-1") -> Any:
        assert self.chat_path is not None
        body = self.body(message, stream=False)
        return client.post(self.chat_path, json=body, headers=self.headers(key))

    def frames(self, text: str) -> tuple[list[str], list[str]]:
        """(the tokens, the frames after the last token) of a streamed body."""
        kinds: list[tuple[str | None, str]] = [_token(self.name, f) for f in self._raw(text)]
        tokens = [token for token, _ in kinds if token is not None]
        last_token = max((i for i, (token, _) in enumerate(kinds) if token is not None), default=-1)
        return tokens, [raw for _, raw in kinds[last_token + 1 :]]

    def _raw(self, text: str) -> list[str]:
        if self.name == "interlocute":
            return [block for block in text.split("\n\n") if block]
        if self.name == "widget":
            return [json.dumps(v, separators=(",", ":")) for v in ndjson(text)]
        return sse_data(text)


def _token(api: str, raw: str) -> tuple[str | None, str]:
    if api == "interlocute":
        event, data = raw.split("\n", 1)
        if event != "event: token":
            return None, raw
        return json.loads(data.removeprefix("data: "))["content"], raw
    value = None if raw == "[DONE]" else json.loads(raw)
    if api == "agent-slug":
        return (value.get("chunk") if isinstance(value, dict) else None), raw
    assert isinstance(value, dict)
    field = {"sentientone": ("delta", "content"), "widget": ("token", "token")}[api]
    return (value[field[1]] if value.get("type") == field[0] else None), raw


BEARER = ("Authorization", "Bearer ")
APIS = {
    "interlocute": Api("interlocute", "/nodes/n/chat/stream", "/nodes/n/chat", *BEARER),
    "agent-slug": Api("agent-slug", "/v1/api/chat/n", "/v1/api/chat/n", *BEARER),
    "sentientone": Api("sentientone", "/v1/chat/stream", "/v1/chat", "X-Api-Key"),
    "widget": Api("widget", "/nodes/n/v1/chat/stream", None, "x-api-key"),
}


def node_config(api: str, block: str) -> str:
    """A config with one echo node `n` of `api` taking any key, plus `block` (indented YAML)."""
    lines = "\n".join("    " + line for line in block.strip().splitlines())
    return f"version: 1\nnodes:\n  n:\n    api: {api}\n    name: N\n    model: echo\n{lines}\n"


@contextmanager
def serve(
    api: str, block: str, *, seed: int | None = 7, clock: FakeClock | None = None
) -> Iterator[TestClient[Litestar]]:
    app = make_app(node_config(api, block), seed=seed, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client


def thread_count(client: TestClient[Any]) -> int:
    return len(client.get("/_emulator/threads").json()["threads"])
