"""/chit golden files: every section x format x verbosity of the demo's interlocute nodes.

The files live in tests/apis/golden/chit/<alias>/<section>.<verbosity>.<ext>. After an intended
change, rewrite them with `UPDATE_GOLDEN=1 make test` and review the diff. The engine runs on a
fixed clock, so status (uptime 0, one start time) is as stable as the other sections here; the
test across two instances below shows what holds on a real clock.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.loader import load_config
from emulator.core.engine import Engine
from emulator.core.store import TinyStore

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "chit"
NODES = {"support": {"Authorization": "Bearer sk-support-123"}, "echo": {}}
SECTIONS = ("overview", "identity", "status", "invocations", "pricing")
FORMATS = {"json": "application/json", "txt": "text/plain", "md": "text/markdown"}
LEVELS = ("low", "standard", "high")
STABLE = ("identity", "invocations", "pricing")


class FixedClock:
    """Time stands still at one instant."""

    moment = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        return None


def build(*, fixed: bool, seed: int | None = None) -> Litestar:
    clock = FixedClock() if fixed else None
    engine = Engine(load_config(REPO / "nodes.yaml"), TinyStore(None), clock=clock, seed=seed)
    return build_app(engine)


def fetch(client: TestClient[Any], alias: str, section: str, ext: str, level: str) -> Any:
    path = f"/nodes/{alias}/chit" + ("" if section == "overview" else f"/{section}")
    headers = {**NODES[alias], "Accept": FORMATS[ext]}
    response = client.get(path, params={"verbosity": level}, headers=headers)
    assert response.status_code == 200, response.text
    return response


@pytest.fixture(scope="module")
def fixed_client() -> Iterator[TestClient[Litestar]]:
    with TestClient(build(fixed=True), base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("alias", NODES)
def test_golden(
    fixed_client: TestClient[Any], alias: str, section: str, ext: str, level: str
) -> None:
    body = fetch(fixed_client, alias, section, ext, level).content
    golden = GOLDEN / alias / f"{section}.{level}.{ext}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(body)
    assert golden.exists(), f"{golden} is missing: run UPDATE_GOLDEN=1 make test"
    assert body == golden.read_bytes()


@pytest.fixture(scope="module")
def two_clients() -> Iterator[tuple[TestClient[Litestar], TestClient[Litestar]]]:
    first = TestClient(build(fixed=False, seed=1), base_url="http://127.0.0.1:8080")
    second = TestClient(build(fixed=False, seed=2), base_url="http://127.0.0.2:9090")
    with first, second:
        second.post("/nodes/echo/chat", json={"content": "a thread only here"})
        yield first, second


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("alias", NODES)
def test_two_instances_of_one_config_agree_byte_for_byte(
    two_clients: tuple[TestClient[Any], TestClient[Any]], alias: str, ext: str
) -> None:
    first, second = two_clients
    for section in STABLE:
        for level in LEVELS:
            one = fetch(first, alias, section, ext, level)
            two = fetch(second, alias, section, ext, level)
            assert one.content == two.content, (section, level)
            assert one.headers["etag"] == two.headers["etag"]


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("level", LEVELS)
def test_status_keeps_its_structure_across_instances(
    two_clients: tuple[TestClient[Any], TestClient[Any]], level: str, ext: str
) -> None:
    one, two = (fetch(c, "echo", "status", ext, level).text for c in two_clients)
    assert structure(one, ext) == structure(two, ext)
    if ext == "json":
        counts = [json.loads(body).get("threadCount") for body in (one, two)]
        assert level == "low" or counts == [0, 1]  # the runtime values are live


def structure(body: str, ext: str) -> Any:
    if ext == "json":
        return list(json.loads(body))
    return [re.sub(r":.*", ":", line) for line in body.splitlines()]  # labels, values masked


def test_the_readme_identity_example_is_what_the_demo_serves(fixed_client: TestClient[Any]) -> None:
    readme = (REPO / "README.md").read_text()
    example = readme.split("/chit/identity\n", 1)[1].split("\n$ ", 1)[0] + "\n"
    assert fetch(fixed_client, "support", "identity", "json", "standard").text == example
