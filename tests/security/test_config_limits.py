"""Hostile YAML: alias bombs, deep nesting and huge documents are config errors at
file:line:col on every path (PUT, reload, `check`, `serve`, fixtures), never a hang, a 500 or a
RecursionError; and PUT /_emulator/config reads no more than its cap."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from emulator.app import build_app
from emulator.config.errors import ConfigError
from emulator.config.fixtures import parse_fixture
from emulator.config.loader import load_config, parse_config, parse_config_bytes
from emulator.config.reloader import PUT_SOURCE, Reloader
from emulator.core.engine import Engine
from emulator.core.store import TinyStore
from tests.conftest import TEST_CONFIG
from tests.e2e.server import run_cli

CONTROL = {"X-Emulator-Client": "pytest"}
NODE = "version: 1\nnodes:\n  a:\n    api: interlocute\n    auth: {anonymous: true}\n"


def laughs(levels: int, where: str = "x-a") -> str:
    """A billion-laughs document: 9**levels strings from a few hundred bytes, under `where`."""
    lines = ['x-l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"x-l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]")
    lines.append(f"{where}: *l{levels - 1}")
    return "\n".join(lines) + "\n"


BOMB = laughs(9) + NODE  # 9**9 = 387 million strings in under 700 bytes
BOMB_LINE = 6  # the alias at which the count passes 100,000 (l5: 9**6 = 531,441)
DEEP = NODE + "    chit: " + "[" * 2000 + "]" * 2000 + "\n"


def test_an_alias_bomb_is_refused_where_the_count_passes_the_cap() -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        parse_config(BOMB, "nodes.yaml")
    assert time.monotonic() - started < 5
    (issue,) = caught.value.issues
    assert issue.location is not None
    assert (issue.location.file, issue.location.line) == ("nodes.yaml", BOMB_LINE)
    assert "aliases here expand to more than 100,000 values" in issue.message


def test_aliases_in_tool_parameters_count_too() -> None:
    text = laughs(7, where="x-p") + NODE + "    tools:\n      - {name: t, parameters: {p: *l6}}\n"
    with pytest.raises(ConfigError, match="alias bomb"):
        parse_config(text, "nodes.yaml")


def test_modest_sharing_through_aliases_is_fine() -> None:
    config = parse_config(laughs(3) + NODE + "    model: {kind: echo, parameters: {p: *l2}}\n")
    assert len(config.nodes["a"].model.parameters["p"]) == 9  # type: ignore[arg-type]


def test_deep_nesting_is_a_config_error_not_a_recursion_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(DEEP, "nodes.yaml")
    (issue,) = caught.value.issues
    assert str(issue).startswith("nodes.yaml:6:")
    assert "nested more than 100 levels deep" in issue.message


def test_deep_block_nesting_too() -> None:
    text = NODE + "    chit:\n" + "".join(" " * (6 + i) + f"k{i}:\n" for i in range(150))
    with pytest.raises(ConfigError, match="nested more than 100 levels deep"):
        parse_config(text, "nodes.yaml")


def test_a_document_over_a_mebibyte_is_refused() -> None:
    text = NODE + "# " + "x" * (1024 * 1024) + "\n"
    with pytest.raises(ConfigError, match=r"nodes\.yaml:6:\d+: the config is too large"):
        parse_config_bytes(text.encode(), "nodes.yaml")
    with pytest.raises(ConfigError, match=r"nodes\.yaml:6:\d+: the file is too large"):
        parse_config(text, "nodes.yaml")


def test_defaults_copied_into_many_nodes_are_capped() -> None:
    big = ",".join(["1"] * 5000)
    defaults = f"defaults:\n  model: {{kind: echo, parameters: {{x: [{big}]}}}}\n"
    nodes = "".join(f"  n{i}: {{api: interlocute}}\n" for i in range(300))
    with pytest.raises(ConfigError, match=r"nodes\.yaml:3:3: defaults: copied into each"):
        parse_config("version: 1\n" + defaults + "nodes:\n" + nodes, "nodes.yaml")


def test_a_fixture_alias_bomb_is_a_fixture_error() -> None:
    text = laughs(9) + "version: 1\nconversations: []\n"
    with pytest.raises(ConfigError, match=r"f\.yaml:6:\d+: aliases here expand"):
        parse_fixture(text, "f.yaml")


# Through the server: PUT and reload answer at once, and the lock is free afterwards.


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "nodes.yaml"
    file.write_text(TEST_CONFIG)
    return file


@pytest.fixture
def client(path: Path) -> Any:
    engine = Engine(load_config(path), TinyStore(None), seed=7)
    app: Litestar = build_app(engine, reloader=Reloader(engine, path))
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.mark.parametrize(("text", "line"), [(BOMB, BOMB_LINE), (DEEP, 6)])
def test_put_answers_422_at_the_place_and_later_calls_are_not_blocked(
    client: TestClient[Any], text: str, line: int
) -> None:
    response = client.put("/_emulator/config", content=text, headers=CONTROL)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["file"], error["line"]) == (PUT_SOURCE, line)
    assert client.post("/_emulator/reload", headers=CONTROL).status_code == 200
    assert client.get("/_emulator/health").json()["status"] == "ok"
    good = client.put("/_emulator/config", content=TEST_CONFIG, headers=CONTROL)
    assert good.status_code == 200


def test_a_bomb_saved_as_nodes_yaml_keeps_the_last_good_config(
    client: TestClient[Any], path: Path
) -> None:
    path.write_text(BOMB)
    result = client.post("/_emulator/reload", headers=CONTROL).json()
    assert result["applied"] is False
    assert result["errors"][0]["line"] == BOMB_LINE
    health = client.get("/_emulator/health").json()
    assert health["status"] == "degraded"
    assert "alias bomb" in health["config"]["error"]
    assert client.get("/_emulator/nodes").json()  # still serving the old nodes


def test_put_refuses_a_body_over_a_mebibyte(client: TestClient[Any]) -> None:
    body = b"# " + b"x" * (1024 * 1024) + b"\n"
    response = client.put("/_emulator/config", content=body, headers=CONTROL)
    assert response.status_code == 413
    assert "larger than 1,048,576 bytes" in response.json()["error"]["message"]

    def chunks() -> Any:  # no Content-Length: refused once the count passes the cap
        for _ in range(200):
            yield b"#" * 65536 + b"\n"

    response = client.put("/_emulator/config", content=chunks(), headers=CONTROL)
    assert response.status_code == 413


def test_check_and_serve_report_the_place_without_a_traceback(tmp_path: Path) -> None:
    for name, text, line in (("bomb.yaml", BOMB, BOMB_LINE), ("deep.yaml", DEEP, 6)):
        file = tmp_path / name
        file.write_text(text)
        check = run_cli(["check", str(file)], cwd=tmp_path)
        assert check.returncode == 1
        assert f"{file}:{line}:" in check.stderr
        assert "Traceback" not in check.stderr and "RecursionError" not in check.stderr
    serve = run_cli(["serve", "--config", str(file), "--port", "0", "--memory"], cwd=tmp_path)
    assert serve.returncode == 1
    assert "Traceback" not in serve.stderr
    assert [line for line in serve.stderr.splitlines() if str(file) in line] == [
        # the 101st '[' (the scanner counts flow levels before the composer counts all)
        f"{file}:6:{len('    chit: ') + 101}: this value is nested more than 100 levels deep; "
        "the limit is 100"
    ]


def test_chit_lists_shared_values_within_the_cap(client: TestClient[Any]) -> None:
    # What aliases may produce is capped, so is the sheet that lists them (a 10**7 bomb was
    # accepted before, and one GET /chit?verbosity=high then answered 346 MB).
    text = laughs(4, where="x-p") + NODE + "    tools:\n      - {name: t, parameters: {p: *l3}}\n"
    assert client.put("/_emulator/config", content=text, headers=CONTROL).status_code == 200
    sheet = client.get("/nodes/a/chit", params={"verbosity": "high"})
    assert sheet.status_code == 200
    assert sheet.text.count("lol") == 9**4
    assert len(sheet.content) < 100 * 9**4  # a few dozen bytes of pretty JSON per value
