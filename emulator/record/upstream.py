"""The real service, behind one small seam: `Upstream.send` takes a request and gives back a
status, headers and the body as an async iterator of chunks, read as they arrive.

`HttpxUpstream` is the one that talks HTTP. Its errors are translated here, in one place, into
`UpstreamUnavailable` (502) and `UpstreamTimeout` (504): the proxy never sees an httpx type.
Tests pass an `httpx.MockTransport` or `httpx.ASGITransport`, or their own `Upstream`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec

from emulator.core.errors import UpstreamTimeout, UpstreamUnavailable

DEFAULT_TIMEOUT = 60.0  # seconds without a byte from the upstream (and at most 10 to connect)


class UpstreamRequest(msgspec.Struct, frozen=True):
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class UpstreamResponse(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> tuple[tuple[str, str], ...]: ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; raises UpstreamUnavailable / UpstreamTimeout when cut."""
        ...

    async def aclose(self) -> None: ...


class Upstream(Protocol):
    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """Send the request and return once the status and headers are in; raises
        UpstreamUnavailable or UpstreamTimeout."""
        ...

    async def aclose(self) -> None: ...


class HttpxUpstream:
    """An `httpx.AsyncClient` that adds nothing of its own: no User-Agent, no Accept, no
    redirects followed; the caller's headers are the request's headers."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=False,
        )
        for name in ("user-agent", "accept", "accept-encoding"):
            self._client.headers.pop(name, None)

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        with translate_errors(request.url):
            built = self._client.build_request(
                request.method, request.url, headers=list(request.headers), content=request.body
            )
            response = await self._client.send(built, stream=True)
        return _HttpxResponse(response, request.url)

    async def aclose(self) -> None:
        await self._client.aclose()


class _HttpxResponse:
    def __init__(self, response: httpx.Response, url: str) -> None:
        self._response = response
        self._url = url

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return tuple(self._response.headers.multi_items())

    async def chunks(self) -> AsyncIterator[bytes]:
        # Decoded (a compressed body is unpacked, and sent on without Content-Encoding), as it
        # arrives: httpx yields each read from the socket, it does not wait to fill a buffer.
        with translate_errors(self._url):
            async for chunk in self._response.aiter_bytes():
                yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


def public_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to log, show and write to a file."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "<an invalid URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@contextmanager
def translate_errors(target: str) -> Iterator[None]:
    """httpx's exceptions as ours, with a message a person can act on."""
    url = public_url(target)
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(f"The upstream {url} did not answer in time ({_what(exc)})") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError) as exc:
        # UnicodeError: a host name that is not valid IDNA (`xn--`), from the idna package
        raise UpstreamUnavailable(f"The upstream URL {url} is not usable: {exc}") from exc
    except httpx.ConnectError as exc:
        raise UpstreamUnavailable(f"The upstream {url} cannot be reached: {_what(exc)}") from exc
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"The upstream {url} failed: {_what(exc)}") from exc


def _what(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
