"""The web console: static files under /_emulator/ui/, and `GET /` for a browser.

The console is plain HTML, CSS and JS in `emulator/console/static/` (shipped in the wheel, no
build step). It only calls the public control plane and API endpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from emulator.control.once import OnceRouter

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console" / "static"
CONSOLE_PATH = "/ui"  # under the control plane's prefix


def console_router() -> Router:
    """Serves index.html at `/ui/` and the directory's other files under `/ui/...`."""
    return create_static_files_router(
        CONSOLE_PATH,
        router_class=OnceRouter,
        directories=[CONSOLE_DIR],
        html_mode=True,
        name="console",
        before_request=_add_slash,
    )


async def _add_slash(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """`/_emulator/ui` redirects to `/_emulator/ui/`, so the page's relative URLs resolve."""
    # The raw path, as sent: Litestar strips the trailing slash from `path`.
    path = request.scope["raw_path"].decode("latin-1")
    if path.endswith(CONSOLE_PATH):
        return Redirect(path + "/", status_code=307)
    return None


def wants_console(request: Request[Any, Any, Any]) -> bool:
    """A browser's `GET /` (it asks for HTML): no API route answers `/`, so none is shadowed."""
    return (
        request.url.path == "/"
        and request.method in ("GET", "HEAD")
        and "text/html" in request.headers.get("accept", "")
    )


def console_redirect(prefix: str) -> Response[Any]:
    return Redirect(prefix + CONSOLE_PATH + "/", status_code=307)
