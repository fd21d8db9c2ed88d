"""The /chit sheets as plain, ordered dicts, built only from a node's config and runtime facts.

Verbosity only ever adds keys: every key of a `low` sheet is in the `standard` sheet with the
same value, and every key of `standard` is in `high` (the `verbosity` key, which names the level,
aside). Key order is fixed by the code below, so the same config gives the same sheet.
Secrets (API keys, JWT secrets) never appear: anonymous callers may read a sheet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from emulator.config.model import CHIT_SECTIONS, VERBOSITIES, ChitSection, Node, Pricing, Verbosity
from emulator.core.errors import InvalidRequest, NotFound

Sheet = dict[str, Any]

MAX_BODY_BYTES = 1024 * 1024
STREAM_FORMATS = ("text/event-stream", "application/x-ndjson", "text/plain")
CHIT_FORMATS = ("application/json", "text/plain", "text/markdown")
FREE = "Free in the emulator"


class Runtime(msgspec.Struct, frozen=True):
    """What the status section reports besides config: taken from the engine per request."""

    started_at: str
    uptime_seconds: int
    config_generation: int
    config_loaded_at: str
    thread_count: int
    serving: bool = True
    last_reload_failed: bool = False


class Custom(msgspec.Struct, frozen=True):
    """An operator's override body for one section."""

    section: str
    format: str
    body: str

    def envelope(self) -> Sheet:
        return {"section": self.section, "mode": "custom", "format": self.format, "body": self.body}


Part = Sheet | Custom


def node_id(node: Node) -> str:
    """A stable id from the alias: the same alias gives the same id on every run."""
    return "nd_" + hashlib.sha256(node.alias.encode()).hexdigest()[:12]


def verbosity_of(node: Node, asked: str | None) -> Verbosity:
    """`?verbosity=` when given, else the node's `chit.verbosity`."""
    if asked is None:
        return node.chit.verbosity
    for level in VERBOSITIES:
        if asked == level:
            return level
    allowed = ", ".join(VERBOSITIES)
    raise InvalidRequest(f"verbosity must be one of: {allowed} (got '{asked}')", field="verbosity")


def check_enabled(node: Node) -> None:
    if not node.chit.enabled:
        raise NotFound(f"chit is not enabled for node '{node.alias}'")


def check_section(node: Node, section: str) -> ChitSection:
    """The section's settings; 404 when chit is off or the section unknown or disabled."""
    check_enabled(node)
    if section not in CHIT_SECTIONS:
        known = ", ".join(CHIT_SECTIONS)
        raise NotFound(f"Unknown chit section '{section}'; sections: {known}")
    settings = node.chit.section(section)
    if not settings.enabled:
        raise NotFound(f"chit section '{section}' is disabled for node '{node.alias}'")
    return settings


def section_part(node: Node, section: str, level: Verbosity, runtime: Runtime) -> Part:
    """One section, generated or the operator's custom body."""
    settings = check_section(node, section)
    if settings.mode == "custom":
        return Custom(section, settings.format or "text/plain", settings.body or "")
    return BUILDERS[section](node, level, runtime)


def overview(node: Node, level: Verbosity, runtime: Runtime) -> dict[str, Part]:
    """Every enabled section, in the order of CHIT_SECTIONS."""
    return {
        name: section_part(node, name, level, runtime)
        for name in CHIT_SECTIONS
        if node.chit.section(name).enabled
    }


def overview_sheet(node: Node, level: Verbosity, parts: Mapping[str, Part]) -> Sheet:
    return {
        "nodeId": node_id(node),
        "name": node.name,
        "verbosity": level,
        "sections": {name: as_json(part) for name, part in parts.items()},
    }


def as_json(part: Part) -> Sheet:
    return part.envelope() if isinstance(part, Custom) else part


def identity(node: Node, level: Verbosity, runtime: Runtime) -> Sheet:
    sheet: Sheet = {"nodeId": node_id(node), "name": node.name}
    if level != "low":
        sheet["description"] = node.description
    sheet["model"] = node.model.name
    sheet["capabilities"] = dict(node.capabilities)
    sheet["tools"] = [tool.name for tool in node.tools]
    sheet["verbosity"] = level
    if level == "high":
        sheet["alias"] = node.alias
        sheet["api"] = node.api
        sheet["modelDetails"] = {
            "name": node.model.name,
            "kind": node.model.kind,
            "parameters": plain(node.model.parameters),
        }
        sheet["toolDetails"] = [
            {"name": t.name, "description": t.description, "parameters": plain(t.parameters)}
            for t in node.tools
        ]
        sheet["knowledge"] = [
            {"id": doc.id, "title": doc.title, "sourceType": doc.source_type}
            for doc in node.knowledge
        ]
    return sheet


def status(node: Node, level: Verbosity, runtime: Runtime) -> Sheet:
    sheet: Sheet = {"serving": runtime.serving, "uptimeSeconds": runtime.uptime_seconds}
    if level != "low":
        sheet["startedAt"] = runtime.started_at
        sheet["configGeneration"] = runtime.config_generation
        sheet["threadCount"] = runtime.thread_count
    if level == "high":
        sheet["configLoadedAt"] = runtime.config_loaded_at
        sheet["lastReloadFailed"] = runtime.last_reload_failed
    return sheet


def invocations(node: Node, level: Verbosity, runtime: Runtime) -> Sheet:
    sheet: Sheet = {
        "endpoints": [endpoint(*spec, level=level) for spec in ENDPOINTS],
        "auth": auth_modes(node),
        "streaming": list(STREAM_FORMATS),
    }
    if level != "low":
        sheet["limits"] = limits(node)
    if level == "high":
        sheet["authDetails"] = auth_details(node)
        sheet["headers"] = dict(HEADERS)
    return sheet


HEADERS = {
    "requestId": "X-Request-Id",
    "idempotencyKey": "X-Idempotency-Key",
    "configGeneration": "X-Emulator-Generation",
}


ENDPOINTS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("POST", "/chat", ("application/json",), "Send a message; the reply as one JSON body"),
    ("POST", "/chat/stream", STREAM_FORMATS, "Send a message; the reply streamed token by token"),
    ("GET", "/chit", CHIT_FORMATS, "This sheet; also /chit/{identity|status|invocations|pricing}"),
)


def endpoint(
    method: str, path: str, produces: tuple[str, ...], description: str, *, level: Verbosity
) -> Sheet:
    sheet: Sheet = {"method": method, "path": path}
    if level != "low":
        sheet["produces"] = list(produces)
    if level == "high":
        sheet["description"] = description
    return sheet


def auth_modes(node: Node) -> list[str]:
    auth = node.auth
    modes = ["apiKey"] if auth.api_keys else []
    modes += ["jwt"] if auth.jwt is not None else []
    modes += ["anyKey"] if auth.any_key else []
    return [*modes, "anonymous"] if auth.anonymous else modes


def auth_details(node: Node) -> Sheet:
    jwt = node.auth.jwt
    return {
        "header": "Authorization: Bearer <API key or JWT>",
        "anonymous": node.auth.anonymous,
        "jwt": None
        if jwt is None
        else {"algorithm": "HS256", "audience": jwt.audience, "issuer": jwt.issuer},
    }


def limits(node: Node) -> Sheet:
    rate = node.rate_limit
    return {
        "maxBodyBytes": MAX_BODY_BYTES,
        "rateLimit": None
        if rate is None
        else {"requests": rate.requests, "perSeconds": rate.per_seconds},
    }


def pricing(node: Node, level: Verbosity, runtime: Runtime) -> Sheet:
    price = node.pricing
    sheet: Sheet = {
        "summary": FREE if price is None else price_summary(price.currency, price),
        "currency": None if price is None else price.currency,
    }
    if level != "low":
        sheet["inputPer1kTokens"] = None if price is None else price.input_per_1k_tokens
        sheet["outputPer1kTokens"] = None if price is None else price.output_per_1k_tokens
        sheet["notes"] = None if price is None else price.notes
    if level == "high":
        sheet["billedByEmulator"] = False
        sheet["usageReporting"] = "Each /chat reply reports usage.inputTokens and outputTokens"
    return sheet


def price_summary(currency: str, price: Pricing) -> str:
    parts = [
        f"{currency} {amount:g} per 1k {kind} tokens"
        for kind, amount in (
            ("input", price.input_per_1k_tokens),
            ("output", price.output_per_1k_tokens),
        )
        if amount is not None
    ]
    return ", ".join(parts) if parts else FREE


def plain(value: Any) -> Any:
    """Config mappings (read-only proxies) and tuples as JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


BUILDERS: dict[str, Callable[[Node, Verbosity, Runtime], Sheet]] = {
    "identity": identity,
    "status": status,
    "invocations": invocations,
    "pricing": pricing,
}
