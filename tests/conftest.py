"""Shared fixtures: an app built from a test config, an in-memory store, zero latency."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.fixtures import FixtureLibrary
from emulator.config.loader import parse_config
from emulator.core.engine import Engine
from emulator.core.seams import Clock
from emulator.core.store import TinyStore

# tests/testing runs user test files in a subprocess; pytester must be enabled in the root conftest.
pytest_plugins = ["pytester"]

TEST_CONFIG = """
version: 1
nodes:
  support:
    api: interlocute
    name: Support Assistant
    description: Customer support node for Acme Corp
    model:
      name: gpt-4o
      kind: scripted
      rules:
        - when: {contains: hours}
          reply: We are open 9 to 5.
        - when: {regex: "order (ORD-\\\\d+)"}
          replies: ["Order {match.1} ships today.", "Still today."]
        - when: {turn: 3}
          reply: "Third turn for {node.name}."
      fallback: echo
    auth:
      api_keys: [sk-support-123]
      jwt: {secret: dev-secret, audience: support}
  echo:
    api: interlocute
    name: Echo
    model: {kind: echo, template: "You said: {message}"}
    auth: {anonymous: true}
  anykey:
    api: interlocute
    name: Any Key
    model: echo
  slow:
    api: interlocute
    name: Slow
    model: {kind: lorem}
    auth: {api_keys: [sk-slow]}
    latency: {first_token_ms: 0, tokens_per_second: 20}
"""

KEY = "sk-support-123"
# Read-only: some clients (httpx-sse) add headers to the dict they are given.
AUTH: Mapping[str, str] = MappingProxyType({"Authorization": f"Bearer {KEY}"})
# What a state-changing control-plane call must declare (the CSRF rule).
CONTROL: Mapping[str, str] = MappingProxyType({"X-Emulator-Client": "pytest"})


class FakeClock:
    """A clock tests move by hand: `advance(seconds)`; `sleep` returns at once."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        return None

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


def make_app(
    text: str = TEST_CONFIG,
    *,
    seed: int | None = 7,
    store: Any = None,
    clock: Clock | None = None,
    fixtures: str | os.PathLike[str] | None = None,
) -> Litestar:
    config = parse_config(text, "test.yaml")
    library = FixtureLibrary(fixtures) if fixtures is not None else None
    engine = Engine(config, store or TinyStore(None), seed=seed, clock=clock, fixtures=library)
    return build_app(engine)


@pytest.fixture
def app() -> Litestar:
    return make_app()


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, base_url="http://support.localhost:8080") as client:
        yield client


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient[Litestar]]]:
    clients: list[TestClient[Litestar]] = []

    def factory(text: str = TEST_CONFIG, base_url: str = "http://127.0.0.1:8080") -> Any:
        client = TestClient(make_app(text), base_url=base_url)
        clients.append(client.__enter__())
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


def make_jwt(**claims: Any) -> str:
    secret = claims.pop("secret", "dev-secret")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short dev secrets are the point
        # An hour's validity unless a test says otherwise (exp=None: no exp claim at all).
        claims = {"aud": "support", "exp": int(time.time()) + 3600, **claims}
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, secret, algorithm="HS256")
