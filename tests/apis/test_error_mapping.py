"""Core errors the HTTP tests cannot provoke yet (rate limits, injected faults, model errors)
map to each API's own status, body and headers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulator.apis.agent_slug.dialect import DIALECT as AGENT_SLUG
from emulator.apis.base import Dialect
from emulator.apis.sentientone.dialect import DIALECT as SENTIENTONE
from emulator.apis.widget.dialect import DIALECT as WIDGET
from emulator.core.errors import EmulatorError, InjectedFault, ModelError, RateLimited

LIMITED = RateLimited("Rate limit exceeded", retry_after=7)
OUTAGE = InjectedFault("The service is temporarily unavailable.", status=503, retry_after=5)
FAULT_429 = InjectedFault("Slow down", status=429, retry_after=2)
MODEL = ModelError("No recorded turn matches 'hi'")


def slug(name: str, message: str) -> dict[str, Any]:
    return {"data": None, "error": {"name": name, "message": message, "details": {}}}


def sentient(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# (dialect, error, status, body without trace_id, Retry-After)
CASES: dict[str, tuple[Dialect, EmulatorError, int, Any, str | None]] = {
    "agent-slug 429": (
        AGENT_SLUG,
        LIMITED,
        429,
        slug("RateLimitError", "Rate limit exceeded"),
        "7",
    ),
    "agent-slug injected 429": (
        AGENT_SLUG,
        FAULT_429,
        429,
        slug("RateLimitError", "Slow down"),
        "2",
    ),
    "agent-slug injected 503": (
        AGENT_SLUG,
        OUTAGE,
        503,
        slug("InternalServerError", "The service is temporarily unavailable."),
        "5",
    ),
    "agent-slug model error": (
        AGENT_SLUG,
        MODEL,
        500,
        slug("InternalServerError", "Internal server error"),
        None,
    ),
    "sentientone 429": (
        SENTIENTONE,
        LIMITED,
        429,
        sentient("rate_limited", "Rate limit exceeded"),
        "7",
    ),
    "sentientone injected 503": (
        SENTIENTONE,
        OUTAGE,
        503,
        sentient("upstream_error", "The service is temporarily unavailable."),
        "5",
    ),
    "sentientone model error": (
        SENTIENTONE,
        MODEL,
        500,
        sentient("model_error", "No recorded turn matches 'hi'"),
        None,
    ),
    "widget 429": (WIDGET, LIMITED, 429, {"error": "Too many requests"}, "7"),
    "widget injected 429": (WIDGET, FAULT_429, 429, {"error": "Too many requests"}, "2"),
    "widget injected 503": (WIDGET, OUTAGE, 503, {"error": "Internal server error"}, "5"),
    "widget model error": (WIDGET, MODEL, 500, {"error": "Internal server error"}, None),
    "widget anything else": (
        WIDGET,
        EmulatorError("boom"),
        500,
        {"error": "Internal server error"},
        None,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_error_mapping(case: tuple[Dialect, EmulatorError, int, Any, str | None]) -> None:
    dialect, error, status, body, retry_after = case
    response = dialect.error(error)
    sent = json.loads(response.render(response.content, "application/json"))
    assert response.status_code == status
    assert response.headers.get("Retry-After") == retry_after
    if dialect is SENTIENTONE:
        assert sent.pop("trace_id") == response.headers["X-Trace-Id"]
    assert sent == body
