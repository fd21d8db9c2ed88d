"""/_emulator/schema renders offline: every asset it loads is served by the emulator itself."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from litestar.testing import TestClient

BASE = "http://127.0.0.1:8080"
ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""")


@pytest.fixture
def local(make_client: Any) -> TestClient[Any]:
    client: TestClient[Any] = make_client(base_url=BASE)
    return client


@pytest.mark.parametrize("page", ["/_emulator/schema", "/_emulator/schema/swagger"])
def test_the_schema_page_loads_only_same_origin_assets(local: TestClient[Any], page: str) -> None:
    response = local.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assets = ASSET.findall(html)
    assert len(assets) >= 4  # favicon, CSS, the bundle and its preset
    for asset in assets:
        url = urljoin(BASE + page, asset)
        assert urlsplit(url).netloc == urlsplit(BASE).netloc, asset
        served = local.get(url)
        assert served.status_code == 200, asset
        assert served.content
    assert "validatorUrl: null" in html  # no call to the online validator either
    assert "cdn." not in html


def test_the_assets_are_swagger_ui_5(local: TestClient[Any]) -> None:
    """Swagger UI 4 cannot read the OpenAPI 3.1 document Litestar writes."""
    assert local.get("/_emulator/schema/openapi.json").json()["openapi"].startswith("3.1")
    bundle = local.get("/_emulator/swagger-ui/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "SwaggerUIBundle" in bundle.text
    assert "oas/3.1" in bundle.text


CONSOLE_ENDPOINTS = {
    ("get", "/_emulator/nodes/{alias}/snippets"): ("200", "404"),
    ("get", "/_emulator/nodes/{alias}/overrides"): ("200", "404"),
    ("put", "/_emulator/nodes/{alias}/overrides"): ("200", "404", "422"),
    ("delete", "/_emulator/nodes/{alias}/overrides"): ("200", "404"),
    ("get", "/_emulator/config"): ("200",),
    ("put", "/_emulator/config"): ("200", "422"),
    ("get", "/_emulator/journal/{request_id}"): ("200", "404"),
    ("get", "/_emulator/journal/stream"): ("200",),
}


def test_the_console_endpoints_are_documented(local: TestClient[Any]) -> None:
    paths = local.get("/_emulator/schema/openapi.json").json()["paths"]
    generic = "Request fulfilled, document follows"
    for (method, path), statuses in CONSOLE_ENDPOINTS.items():
        operation = paths[path][method]
        assert operation["summary"], (method, path)
        for status in statuses:
            described = operation["responses"][status]["description"]
            assert described and described != generic, (method, path, status)
