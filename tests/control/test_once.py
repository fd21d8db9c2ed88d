"""Control-plane routers are made fresh for each app: two apps in one process each serve their
own control plane and console, and a router registered twice is refused (it would share its
handlers between apps)."""

from __future__ import annotations

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.loader import parse_config
from emulator.control.once import OnceRouter
from emulator.core.engine import Engine
from emulator.core.store import TinyStore
from tests.conftest import AUTH, TEST_CONFIG


def test_two_apps_in_one_process_each_serve_their_own_control_plane() -> None:
    engines = [Engine(parse_config(TEST_CONFIG, "t.yaml"), TinyStore.memory()) for _ in range(2)]
    apps = [build_app(engine) for engine in engines]
    for app, engine in zip(apps, engines, strict=True):
        with TestClient(app) as client:
            assert client.get("/_emulator/health").status_code == 200
            assert client.get("/_emulator/ui/").status_code == 200
            assert client.get("/_emulator/swagger-ui/swagger-ui.css").status_code == 200
            assert client.app.state.engine is engine


@get("/ping", sync_to_thread=False)
def ping() -> str:
    return "pong"


def test_a_once_router_registered_twice_is_refused() -> None:
    router = OnceRouter("/x", route_handlers=[ping])
    with TestClient(Litestar([router])) as client:
        assert client.get("/x/ping").text == "pong"
    with pytest.raises(RuntimeError, match="registered once"):
        Litestar([router])


def test_the_control_plane_is_built_by_its_first_request() -> None:
    """Chat turns never need the control plane's app: it is made when /_emulator/ is first
    asked for (also through a path with doubled slashes, as Litestar's router reads it)."""
    app = build_app(Engine(parse_config(TEST_CONFIG, "t.yaml"), TinyStore.memory()))
    plane = app.state.control_plane
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        answer = client.post("/nodes/support/chat", json={"content": "hi"}, headers=AUTH)
        assert answer.status_code == 200
        assert client.get("/").status_code in (307, 404)  # the console's redirect, or no route
        assert client.get("/nope").status_code == 404
        assert not plane.made
        assert client.get("/_emulator//health").json()["status"] == "ok"
        assert plane.made
        assert client.get("/_emulator/nope").json()["error"]["code"] == "not_found"
