"""The config and helpers the agent-slug, sentientone and widget golden tests share."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar.testing import TestClient

APIS_CONFIG = """
version: 1
nodes:
  support:
    api: interlocute
    name: Support Assistant
    model: echo
    auth: {api_keys: [sk-support-123]}
  helpdesk:
    api: agent-slug
    name: Customer Support
    model:
      name: gpt-4
      rules:
        - when: {contains: password}
          reply: Use the reset link.
        - when: {turn: 2}
          reply: "Turn two of {node.name}."
      fallback: echo
    auth: {api_keys: [sk-slug-123]}
  sales:
    api: agent-slug
    name: Sales Bot
    model: echo
    auth: {api_keys: [sk-sales-123]}
  researcher:
    api: sentientone
    name: Research Assistant
    model:
      name: research-1
      rules:
        - when: {contains: warranty}
          reply: Two years.
          sources: [doc-warranty]
      fallback: echo
    auth: {api_keys: [sk-sentient-123]}
    knowledge:
      - id: doc-warranty
        title: Warranty terms
        url: https://example.com/warranty
        source_type: web
        text: All devices carry a two-year warranty covering manufacturing defects.
      - id: doc-batteries
        title: Battery care
        text: Keep batteries between 20% and 80% charge and away from heat to extend their life.
  analyst:
    api: sentientone
    name: Analyst
    model: echo
    auth: {api_keys: [sk-analyst-123]}
  widget:
    api: widget
    name: Website Widget
    model: {kind: echo, template: "Echo: {message}"}
    auth: {api_keys: [wk-widget-123]}
  kiosk:
    api: widget
    name: Kiosk
    model: echo
    auth: {api_keys: [wk-kiosk-123]}
  slow-slug:
    api: agent-slug
    name: Slow Slug
    model: lorem
    auth: {api_keys: [sk-slow-slug]}
    latency: {first_token_ms: 0, tokens_per_second: 20}
  slow-sentient:
    api: sentientone
    name: Slow Sentient
    model: lorem
    auth: {api_keys: [sk-slow-sentient]}
    latency: {first_token_ms: 0, tokens_per_second: 20}
  slow-widget:
    api: widget
    name: Slow Widget
    model: lorem
    auth: {api_keys: [wk-slow-widget]}
    latency: {first_token_ms: 0, tokens_per_second: 20}
"""

IDS = [
    (re.compile(r"^conv_[a-z0-9]{24}$"), "conv_*"),
    (re.compile(r"^conv-[a-z0-9]{24}$"), "conv-*"),
    (re.compile(r"^trc_[a-z0-9]{32}$"), "trc_*"),
    (re.compile(r"^[a-z0-9]{24}$"), "*"),  # widget conversation ids
]


def normalize(value: Any) -> Any:
    """`value` with generated ids replaced by their shape, so golden bodies can be compared."""
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    if isinstance(value, str):
        return next((shape for rx, shape in IDS if rx.match(value)), value)
    return value


def send(client: TestClient[Any], path: str, headers: dict[str, str], body: Any) -> Any:
    """POST `body`: bytes as they are, anything else as JSON."""
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json", **headers}
        return client.post(path, content=body, headers=headers)
    return client.post(path, json=body, headers=headers)


def sse_data(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, checking no other field is sent."""
    events = [block for block in text.split("\n\n") if block]
    assert all(block.startswith("data: ") and "\n" not in block for block in events), text
    return [block.removeprefix("data: ") for block in events]


def ndjson(text: str) -> list[dict[str, Any]]:
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]
