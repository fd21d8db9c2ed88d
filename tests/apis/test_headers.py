"""How the APIs read request headers: the first of repeated headers, any case of the name."""

from __future__ import annotations

from typing import Any

from litestar import Request

from emulator.apis.base import bearer, header


def request_with(headers: list[tuple[bytes, bytes]]) -> Request[Any, Any, Any]:
    scope: Any = {"type": "http", "method": "POST", "path": "/chat", "headers": headers}
    return Request(scope)


def test_the_first_of_repeated_headers_counts_as_litestar_reads_it() -> None:
    raw = [(b"authorization", b"Bearer first"), (b"Authorization", b"Bearer second")]
    request = request_with(raw)
    assert bearer(request) == "first"
    assert header(request, "authorization") == request.headers.get("authorization")


def test_names_match_in_any_case_and_values_keep_their_bytes() -> None:
    request = request_with([(b"X-Api-Key", b"caf\xe9"), (b"host", b"a.localhost:8080")])
    assert header(request, "x-api-key") == "café"  # Latin-1, as Litestar decodes it
    assert header(request, "host") == "a.localhost:8080"
    assert header(request, "x-agent-id") is None
