"""`/_emulator/schema` rendered offline: Swagger UI from the `swagger-ui-bundle-v2` package,
served by the emulator itself under `/_emulator/swagger-ui/`, so no page loads anything from
another origin (Litestar's default loads it from a CDN: a blank page offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from emulator.control.once import OnceRouter

ASSETS_PATH = "/swagger-ui"  # under the control plane's prefix


def assets_router() -> Router:
    """Swagger UI's files (JS, CSS, favicons) under /swagger-ui/."""
    return create_static_files_router(
        ASSETS_PATH,
        directories=[Path(str(swagger_ui_path))],
        name="swagger-ui",
        router_class=OnceRouter,
    )


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI with its assets and favicon from this server, and no online validator."""

    def __init__(self, prefix: str) -> None:
        base = prefix + ASSETS_PATH
        super().__init__(
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{base}/favicon-32x32.png'>",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        page = super().render(request, openapi_schema)
        # Swagger UI would otherwise send the document to its online validator for a badge.
        return page.replace(b"deepLinking: true,", b"deepLinking: true,\n validatorUrl: null,", 1)
