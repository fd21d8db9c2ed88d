"""What serving needs of the control plane before its first request: where it lives, its
error body, and its app, made on first use.

The control plane (`/_emulator/...`: health, threads, the journal, config, the console, the
OpenAPI document) is a Litestar app of its own, built the first time a request reaches it.
Building it registers some forty route handlers and renders nothing a chat turn needs: made
at start-up it was about a quarter of the time from `emulator serve` to the first answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Response
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils import normalize_path

from emulator.core.errors import EmulatorError

PREFIX = "/_emulator"


def neutral_error(error: EmulatorError) -> Response[Any]:
    """The control plane's (and unknown paths') error body."""
    return Response(
        {"error": {"code": error.code, "message": error.message}}, status_code=error.status
    )


def is_plane_path(path: str) -> bool:
    """`/_emulator` and below, as Litestar's router reads paths (repeated slashes collapse:
    `//_emulator/reset` is the reset route)."""
    if "_emulator" not in path:  # nearly every request: no normalizing
        return False
    path = normalize_path(path)
    return path == PREFIX or path.startswith(PREFIX + "/")


class LazyApp:
    """An ASGI app made by `make` when its first request arrives (`made` says whether yet)."""

    __slots__ = ("_app", "_make")

    def __init__(self, make: Callable[[], ASGIApp]) -> None:
        self._make = make
        self._app: ASGIApp | None = None

    @property
    def made(self) -> bool:
        return self._app is not None

    def get(self) -> ASGIApp:
        if self._app is None:
            self._app = self._make()  # no await inside: two first requests build it once
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.get()(scope, receive, send)
