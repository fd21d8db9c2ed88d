"""`emulator record`'s arguments: each mistake is refused with one line, before anything starts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from emulator.cli import main

GOOD = ["record", "--api", "widget", "--upstream", "http://127.0.0.1:9", "--node", "w"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--upstream", "ftp://example.com"], "--upstream must be an http:// or https:// URL"),
        (["--upstream", "127.0.0.1:9000"], "--upstream must be an http:// or https:// URL"),
        (["--upstream", "http://"], "--upstream must be an http:// or https:// URL"),
        (["--upstream", "http://h:99999"], "--upstream is not a valid URL"),
        (["--upstream", "http://h/x?key=1"], "--upstream takes a base URL with no query"),
        (["--node", "Not An Alias"], "--node must be an alias"),
        (["--fixture", "../elsewhere"], "--fixture must be a file name"),
        (["--timeout", "0"], "--timeout must be a positive number"),
        (["--api", "telepathy"], "--api must be one of interlocute, agent-slug"),
    ],
)
def test_bad_arguments_exit_1_with_one_line(
    change: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*GOOD, *change]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"emulator: {message}") and err.count("\n") == 1


def test_flags_come_from_the_environment_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMULATOR_API", "sentientone")
    monkeypatch.setenv("EMULATOR_UPSTREAM", "gopher://old")
    monkeypatch.setenv("EMULATOR_NODE", "n")
    assert main(["record"]) == 1
    assert "got 'gopher://old'" in capsys.readouterr().err


def test_a_busy_port_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main([*GOOD, "--port", str(port)]) == 1
    assert "the port is already in use" in capsys.readouterr().err


def test_a_config_with_errors_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nodes.yaml").write_text("version: 1\nnodes: {a: {api: nope}}\n")
    assert main([*GOOD, "--config", str(tmp_path / "nodes.yaml")]) == 1
    assert "cannot start, the config has errors" in capsys.readouterr().err
