"""Strong entity tags for /chit representations and If-None-Match (RFC 9110 section 13.1.2)."""

from __future__ import annotations

import hashlib


def etag(body: bytes) -> str:
    """A strong tag from the bytes themselves: equal bytes, equal tag, across processes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def none_match(header: str | None, tag: str) -> bool:
    """Whether If-None-Match names `tag` (weak comparison, as the RFC asks) or is `*`."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    wanted = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == wanted for t in header.split(","))
