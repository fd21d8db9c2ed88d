"""GET /chit and GET /chit/{section}: thin handlers over the pure sheet builders."""

from __future__ import annotations

from typing import Any

from litestar import Response

from emulator.apis.base import Call
from emulator.apis.interlocute.chit import facts
from emulator.apis.interlocute.chit.etag import etag, none_match
from emulator.apis.interlocute.chit.negotiate import negotiate
from emulator.apis.interlocute.chit.render import render_overview, render_section
from emulator.config.model import Verbosity
from emulator.core.seams import isoformat


async def chit_overview(call: Call) -> Response[Any]:
    facts.check_enabled(call.node)
    level, media_type = _prepare(call)
    parts = facts.overview(call.node, level, runtime(call))
    body = render_overview(facts.overview_sheet(call.node, level, parts), parts, media_type)
    return represent(call, body, media_type)


async def chit_section(call: Call) -> Response[Any]:
    section = str(call.request.path_params["section"])
    facts.check_section(call.node, section)
    level, media_type = _prepare(call)
    part = facts.section_part(call.node, section, level, runtime(call))
    return represent(call, render_section(section, part, media_type), media_type)


def _prepare(call: Call) -> tuple[Verbosity, str]:
    """After the 404 checks: 400 for a bad verbosity or Accept, 406 for an unmet Accept."""
    level = facts.verbosity_of(call.node, call.request.query_params.get("verbosity"))
    return level, negotiate(call.header("accept"))


def runtime(call: Call) -> facts.Runtime:
    """The engine's facts about this node, read once per request."""
    engine = call.engine
    now = engine.clock.now()
    return facts.Runtime(
        started_at=isoformat(engine.started_at),
        uptime_seconds=max(0, int((now - engine.started_at).total_seconds())),
        config_generation=engine.generation,
        config_loaded_at=isoformat(engine.loaded_at),
        thread_count=len(engine.store.list_threads(call.node.alias)),
        last_reload_failed=engine.config_error is not None,
    )


def represent(call: Call, body: bytes, media_type: str) -> Response[Any]:
    """200 with the bytes, or 304 when If-None-Match already has them."""
    tag = etag(body)
    # no-cache: a cache may keep the sheet but must revalidate (cheap, with the ETag), since a
    # reload or the status's runtime values can change it at any time.
    headers = {"ETag": tag, "Vary": "Accept", "Cache-Control": "no-cache"}
    # Litestar appends "; charset=utf-8" to text/* types itself.
    if none_match(call.header("if-none-match"), tag):
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    return Response(body, status_code=200, headers=headers, media_type=media_type)
