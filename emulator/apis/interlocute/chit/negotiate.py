"""Accept header parsing and the choice of a /chit representation (RFC 9110 section 12.5.1).

Decisions, documented in the README:
- no Accept header, or an empty one, means JSON;
- among the types a client accepts, the highest q wins, then the most specific range that
  matched (`text/markdown` beats `*/*`), then the server's order: JSON, plain text, Markdown;
- `q=0` excludes a type; a header that admits none of ours (HTML or XML only) is 406;
- a malformed header (no `/`, a bad token, a q outside 0..1) is 400, so client bugs surface.
"""

from __future__ import annotations

import re

import msgspec

from emulator.core.errors import InvalidRequest, NotAcceptable

JSON = "application/json"
TEXT = "text/plain"
MARKDOWN = "text/markdown"
SUPPORTED: tuple[str, ...] = (JSON, TEXT, MARKDOWN)

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


class MediaRange(msgspec.Struct, frozen=True):
    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int | None:
        """How precisely this range names `media_type`: 2 exact, 1 `type/*`, 0 `*/*`, else None."""
        kind, _, sub = media_type.partition("/")
        if self.type == "*":
            return 0
        if self.type != kind:
            return None
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else None


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header; raises InvalidRequest when it is malformed."""
    ranges: list[MediaRange] = []
    for element in header.split(","):
        if element.strip():
            ranges.append(_media_range(element))
    return ranges


def _media_range(element: str) -> MediaRange:
    kind, *params = (part.strip() for part in element.split(";"))
    main, slash, sub = kind.partition("/")
    if not slash or not _TOKEN.match(main) or not _TOKEN.match(sub) or (main == "*" != sub):
        raise _malformed(f"'{kind}' is not a media range like type/subtype")
    q = 1.0
    for param in params:
        name, equals, value = param.partition("=")
        if not equals or not _TOKEN.match(name.strip()):
            raise _malformed(f"'{param}' is not a parameter like name=value")
        if name.strip().lower() == "q":
            if not _QVALUE.match(value.strip()):
                raise _malformed(f"q must be a number from 0 to 1 (got '{value.strip()}')")
            q = float(value)
    return MediaRange(main.lower(), sub.lower(), q)


def _malformed(detail: str) -> InvalidRequest:
    return InvalidRequest(f"Malformed Accept header: {detail}", field="accept")


def negotiate(header: str | None) -> str:
    """The representation to send for an Accept header: one of SUPPORTED."""
    if header is None or not header.strip():
        return JSON
    ranges = parse_accept(header)
    if not ranges:  # only commas: an empty list, like no header
        return JSON
    best: tuple[float, int, int] | None = None
    chosen = JSON
    for rank, media_type in enumerate(SUPPORTED):
        matches = [(s, r.q) for r in ranges if (s := r.specificity(media_type)) is not None]
        if not matches:
            continue
        specificity, q = max(matches)  # the most specific range decides a type's q
        key = (q, specificity, -rank)
        if q > 0 and (best is None or key > best):
            best, chosen = key, media_type
    if best is None:
        raise NotAcceptable(
            "None of the accepted media types is available; supported: " + ", ".join(SUPPORTED)
        )
    return chosen
