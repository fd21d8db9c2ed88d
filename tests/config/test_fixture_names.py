"""A fixture name reads only a file inside the fixtures directory (issue 12 item 6): a symlink
out of it is refused, and a NUL in a name is a config error at its place in check, serve and
PUT, never a traceback or a 500 on every turn."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.conftest import CONTROL, make_app
from tests.e2e.server import run_cli

FIXTURE = "conversations: [{turns: [{message: Hello, reply: '%s'}]}]\n"
CONFIG = """\
version: 1
nodes:
  replayed:
    api: interlocute
    name: Replayed
    model: {kind: replay, fixture: %s}
    auth: {anonymous: true}
"""
NUL_NAME = '"demo\\0.yaml"'  # YAML's escape for a NUL character


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A fixtures directory, and a secret fixture-shaped file outside it."""
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    outside = tmp_path / "private" / "secret.yaml"
    outside.parent.mkdir()
    outside.write_text(FIXTURE % "the private file")
    return fixtures, outside


def reply(fixtures: Path, name: str) -> tuple[int, str]:
    app = make_app(CONFIG % name, fixtures=fixtures)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        response = client.post("/nodes/replayed/chat", json={"content": "Hello"})
        return response.status_code, response.text


def test_a_symlink_out_of_the_fixtures_directory_is_refused(layout: tuple[Path, Path]) -> None:
    fixtures, outside = layout
    (fixtures / "demo.yaml").symlink_to(outside)
    status, body = reply(fixtures, "demo")
    assert status == 500
    assert "the private file" not in body
    assert "outside the fixtures directory" in body


def test_a_symlinked_directory_out_of_it_is_refused_too(layout: tuple[Path, Path]) -> None:
    fixtures, outside = layout
    (fixtures / "shared").symlink_to(outside.parent)
    status, body = reply(fixtures, "shared/secret")
    assert (status, "the private file" in body) == (500, False)
    assert "outside the fixtures directory" in body


def test_a_symlink_within_the_directory_is_followed(layout: tuple[Path, Path]) -> None:
    fixtures, _ = layout
    (fixtures / "real.yaml").write_text(FIXTURE % "from the real file")
    (fixtures / "demo.yaml").symlink_to(fixtures / "real.yaml")
    status, body = reply(fixtures, "demo")
    assert (status, '"content":"from the real file"' in body) == (200, True)


def test_check_refuses_the_symlink_in_one_line(layout: tuple[Path, Path]) -> None:
    fixtures, outside = layout
    (fixtures / "demo.yaml").symlink_to(outside)
    config = fixtures.parent / "nodes.yaml"
    config.write_text(CONFIG % "demo")
    result = run_cli(["check", str(config), "--fixtures", str(fixtures)], cwd=fixtures.parent)
    assert result.returncode == 1
    assert "node 'replayed': fixture 'demo'" in result.stderr
    assert "outside the fixtures directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_nul_in_a_fixture_name_is_a_config_error_in_check_and_serve(tmp_path: Path) -> None:
    config = tmp_path / "nodes.yaml"
    config.write_text(CONFIG % NUL_NAME)
    where = f"{config}:6:36: fixture: a name cannot hold control characters"
    checked = run_cli(["check", str(config)], cwd=tmp_path)
    assert checked.returncode == 1
    assert where in checked.stderr and "Traceback" not in checked.stderr
    served = run_cli(["serve", "--config", str(config), "--port", "0", "--memory"], cwd=tmp_path)
    assert served.returncode == 1
    assert where in served.stderr and "Traceback" not in served.stderr


def test_a_nul_in_a_fixture_name_is_refused_by_put_and_turns_go_on(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(FIXTURE % "Replayed.")
    app = make_app(CONFIG % "demo", fixtures=tmp_path)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        put = client.put("/_emulator/config", content=CONFIG % NUL_NAME, headers=CONTROL)
        assert put.status_code == 422
        (error,) = put.json()["errors"]
        assert (error["line"], error["column"]) == (6, 36)
        assert "control characters" in error["message"]
        # The running config stayed, and its turns are served.
        turn = client.post("/nodes/replayed/chat", json={"content": "Hello"})
        assert (turn.status_code, turn.json()["content"]) == (200, "Replayed.")
