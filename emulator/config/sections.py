"""The smaller blocks of a node: auth, capabilities, tools, knowledge, chit and realism."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from emulator.config.checks import Checker
from emulator.config.model import (
    CAPABILITY_NAMES,
    CHIT_CUSTOM_FORMATS,
    CHIT_SECTIONS,
    VERBOSITIES,
    Auth,
    Chit,
    ChitSection,
    Fault,
    Jwt,
    KnowledgeDoc,
    Latency,
    Pricing,
    RateLimit,
    Tool,
    frozen_map,
)
from emulator.config.modelspec import build_matcher
from emulator.config.yamlnodes import YMap, YScalar, YValue, to_plain

AUTH_KEYS = ("api_keys", "jwt", "anonymous")
JWT_KEYS = ("secret", "audience", "issuer", "require_exp")
TOOL_KEYS = ("name", "description", "parameters")
KNOWLEDGE_KEYS = ("id", "title", "text", "url", "source_type")
CHIT_KEYS = ("enabled", "verbosity", "sections")
CHIT_SECTION_KEYS = ("enabled", "mode", "format", "body")
LATENCY_KEYS = ("first_token_ms", "tokens_per_second", "jitter", "delay_ms")
RATE_LIMIT_KEYS = ("requests", "per_seconds")
FAULT_KEYS = (
    "when", "status", "retry_after", "stream_error_after", "disconnect_after", "rate", "times",
    "message",
)  # fmt: skip
FAULT_KINDS = ("status", "stream_error_after", "disconnect_after")
PRICING_KEYS = ("currency", "input_per_1k_tokens", "output_per_1k_tokens", "notes")


def build_auth(c: Checker, value: YValue | None) -> Auth:
    m = c.mapping(value, "auth", AUTH_KEYS)
    if m is None:
        return Auth()
    jwt: Jwt | None = None
    jm = c.mapping(c.get(m, "jwt"), "jwt", JWT_KEYS)
    if jm is not None:
        secret = c.string(c.require(jm, "secret", "jwt", " (the HS256 signing secret)"), "secret")
        audience = c.string(c.get(jm, "audience"), "audience")
        issuer = c.string(c.get(jm, "issuer"), "issuer")
        require_exp = c.boolean(c.get(jm, "require_exp"), "require_exp")
        jwt = (
            Jwt(secret, audience, issuer, require_exp is not False) if secret is not None else None
        )
    return Auth(
        api_keys=c.strings(c.get(m, "api_keys"), "api_keys") or (),
        jwt=jwt,
        anonymous=bool(c.boolean(c.get(m, "anonymous"), "anonymous")),
    )


def build_capabilities(
    c: Checker, value: YValue | None, *, rag: bool, tool_use: bool
) -> Mapping[str, bool]:
    """All five capabilities: memory and streaming on, rag and toolUse when knowledge and tools
    are configured, scheduling off; the node's `capabilities:` overrides each."""
    found = {"memory": True, "rag": rag, "toolUse": tool_use, "streaming": True}
    found["scheduling"] = False
    m = c.mapping(value, "capabilities", CAPABILITY_NAMES)
    for name, entry in (m.entries if m is not None else {}).items():
        flag = c.boolean(entry.value, name) if name in found else None
        if flag is not None:
            found[name] = flag
    return MappingProxyType({name: found[name] for name in CAPABILITY_NAMES})


def build_tools(c: Checker, value: YValue | None) -> tuple[Tool, ...]:
    tools: list[Tool] = []
    seen: dict[str, int] = {}
    for item in c.items(value, "tools") or ():
        tool = _tool(c, item)
        if tool is None:
            continue
        if tool.name in seen:
            first = seen[tool.name]
            c.error(item.loc, f"tools: '{tool.name}' is listed twice (first at line {first})")
            continue
        seen[tool.name] = item.loc.line
        tools.append(tool)
    return tuple(tools)


def _tool(c: Checker, value: YValue) -> Tool | None:
    if isinstance(value, YScalar):
        name = c.string(value, "tools")
        return Tool(name) if name is not None else None
    m = c.mapping(value, "tools", TOOL_KEYS)
    if m is None:
        return None
    name = c.string(c.require(m, "name", "a tool"), "name")
    description = c.string(c.get(m, "description"), "description")
    parameters = c.get(m, "parameters")
    plain: object = {}
    if parameters is not None and not isinstance(parameters, YMap):
        c.expected("parameters", "a mapping (a JSON schema)", parameters)
    elif parameters is not None:
        plain = to_plain(parameters)
    assert isinstance(plain, dict)
    return Tool(name, description, frozen_map(plain)) if name is not None else None


def build_knowledge(c: Checker, value: YValue | None) -> tuple[KnowledgeDoc, ...]:
    docs: list[KnowledgeDoc] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(c.items(value, "knowledge") or (), 1):
        m = c.mapping(item, "knowledge", KNOWLEDGE_KEYS)
        if m is None:
            if isinstance(item, YScalar) and item.value is None:
                c.error(item.loc, "knowledge: expected a mapping with `text:`, got an empty value")
            continue
        doc_id = c.string(c.get(m, "id"), "id") or f"doc-{index}"
        text = c.string(c.require(m, "text", "a knowledge document"), "text")
        doc = KnowledgeDoc(
            id=doc_id,
            title=c.string(c.get(m, "title"), "title") or doc_id,
            text=text or "",
            url=c.string(c.get(m, "url"), "url"),
            source_type=c.string(c.get(m, "source_type"), "source_type") or "document",
        )
        if doc_id in seen:
            loc = (c.get(m, "id") or m).loc
            c.error(loc, f"knowledge: id '{doc_id}' is used twice (first at line {seen[doc_id]})")
            continue
        seen[doc_id] = m.loc.line
        docs.append(doc)
    return tuple(docs)


def build_chit(c: Checker, value: YValue | None) -> Chit:
    m = c.mapping(value, "chit", CHIT_KEYS)
    if m is None:
        return Chit()
    sections: dict[str, ChitSection] = {}
    sm = c.mapping(c.get(m, "sections"), "sections", CHIT_SECTIONS)
    for name, entry in (sm.entries if sm is not None else {}).items():
        section = _chit_section(c, entry.value, name)
        if section is not None and name in CHIT_SECTIONS:
            sections[name] = section
    enabled = c.boolean(c.get(m, "enabled"), "enabled")
    verbosity = c.choice(c.get(m, "verbosity"), "verbosity", VERBOSITIES)
    return Chit(
        enabled=True if enabled is None else enabled,
        verbosity=verbosity or "standard",
        sections=MappingProxyType(sections),
    )


def _chit_section(c: Checker, value: YValue | None, name: str) -> ChitSection | None:
    m = c.mapping(value, name, CHIT_SECTION_KEYS)
    if m is None:
        return ChitSection()
    enabled = c.boolean(c.get(m, "enabled"), "enabled")
    mode = c.choice(c.get(m, "mode"), "mode", ("standard", "custom")) or "standard"
    body = c.string(c.get(m, "body"), "body")
    fmt = c.choice(c.get(m, "format"), "format", CHIT_CUSTOM_FORMATS)
    if mode == "custom" and body is None and c.get(m, "body") is None:
        c.error(m.loc, f"{name}: `mode: custom` needs a `body:` (the text to serve)")
    if mode == "standard":
        for key in ("body", "format"):
            entry = c.entry(m, key)
            if entry is not None and c.get(m, key) is not None:
                c.error(entry.key_loc, f"{name}: `{key}` only applies with `mode: custom`")
        return ChitSection(enabled=enabled is not False)
    return ChitSection(
        enabled=enabled is not False, mode="custom", format=fmt or "text/plain", body=body
    )


def build_latency(c: Checker, value: YValue | None) -> Latency:
    m = c.mapping(value, "latency", LATENCY_KEYS)
    first = c.number(c.get(m, "first_token_ms"), "first_token_ms", 0)
    rate = c.number(c.get(m, "tokens_per_second"), "tokens_per_second", 0)
    jitter = c.number(c.get(m, "jitter"), "jitter", 0, 1)
    delay = c.number(c.get(m, "delay_ms"), "delay_ms", 0)
    return Latency(
        first_token_ms=first or 0.0,
        tokens_per_second=rate or 0.0,
        jitter=jitter or 0.0,
        delay_ms=delay or 0.0,
    )


def build_rate_limit(c: Checker, value: YValue | None) -> RateLimit | None:
    m = c.mapping(value, "rate_limit", RATE_LIMIT_KEYS)
    if m is None:
        return None
    requests = c.integer(c.require(m, "requests", "rate_limit"), "requests", 1)
    per = c.number(c.require(m, "per_seconds", "rate_limit"), "per_seconds", 0, above=True)
    return RateLimit(requests, per) if requests is not None and per is not None else None


def build_faults(c: Checker, value: YValue | None) -> tuple[Fault, ...]:
    faults = (_fault(c, item) for item in c.items(value, "faults") or ())
    return tuple(fault for fault in faults if fault is not None)


def _fault(c: Checker, value: YValue) -> Fault | None:
    m = c.mapping(value, "faults", FAULT_KEYS)
    if m is None:
        return None
    kinds = [key for key in FAULT_KINDS if c.get(m, key) is not None]
    if len(kinds) != 1:
        got = " and ".join(f"`{key}`" for key in kinds) if kinds else "none"
        listed = ", ".join(f"`{key}`" for key in FAULT_KINDS)
        c.error(m.loc, f"a fault needs exactly one of {listed} (got {got})")
    if c.get(m, "rate") is not None and c.get(m, "times") is not None:
        c.error(m.loc, "a fault takes `rate` or `times`, not both")
    retry_entry = c.entry(m, "retry_after")
    if retry_entry is not None and c.get(m, "retry_after") is not None and "status" not in kinds:
        c.error(retry_entry.key_loc, "`retry_after` only applies with `status`")
    when_value = c.get(m, "when")
    return Fault(
        when=build_matcher(c, when_value) if when_value is not None else None,
        status=c.integer(c.get(m, "status"), "status", 400, 599),
        retry_after=c.integer(c.get(m, "retry_after"), "retry_after", 0),
        stream_error_after=c.integer(c.get(m, "stream_error_after"), "stream_error_after", 0),
        disconnect_after=c.integer(c.get(m, "disconnect_after"), "disconnect_after", 0),
        rate=c.number(c.get(m, "rate"), "rate", 0, 1),
        times=c.integer(c.get(m, "times"), "times", 1),
        message=c.string(c.get(m, "message"), "message"),
    )


def build_pricing(c: Checker, value: YValue | None) -> Pricing | None:
    m = c.mapping(value, "pricing", PRICING_KEYS)
    if m is None:
        return None
    return Pricing(
        currency=c.string(c.get(m, "currency"), "currency") or "USD",
        input_per_1k_tokens=c.number(c.get(m, "input_per_1k_tokens"), "input_per_1k_tokens", 0),
        output_per_1k_tokens=c.number(c.get(m, "output_per_1k_tokens"), "output_per_1k_tokens", 0),
        notes=c.string(c.get(m, "notes"), "notes"),
    )
