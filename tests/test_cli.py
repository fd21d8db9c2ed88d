"""The command line's own surface: binding the port (shared by serve, record and EmulatorServer)
and the flags' usage errors and help."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from emulator.cli import _banner, bind, main
from emulator.config.loader import parse_config
from tests.conftest import TEST_CONFIG


def _time_wait_on(port: int) -> None:
    """Leave the server side of a connection to `port` in TIME_WAIT, as a server that stops
    while a client is connected does: the side that closes first waits there for a minute."""
    server = bind("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", server.getsockname()[1]), timeout=5)
    accepted, _ = server.accept()
    accepted.close()  # the server closes first
    assert client.recv(1) == b""
    client.close()
    server.close()


def test_the_port_can_be_bound_again_at_once_after_a_connection_closed() -> None:
    with socket.socket() as probe:  # a free port, known in advance
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _time_wait_on(port)
    again = bind("127.0.0.1", port)  # EADDRINUSE for about 60 s without SO_REUSEADDR
    again.close()


@pytest.mark.parametrize("reuse", [False, True])
def test_a_port_another_process_listens_on_is_still_busy(reuse: bool) -> None:
    with socket.socket() as taken:
        if reuse:  # another emulator (or uvicorn) listening there
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use"):
            bind("127.0.0.1", taken.getsockname()[1]).close()


@pytest.mark.parametrize("command", ["serve", "record"])
def test_an_unknown_log_level_is_a_usage_error(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--log-level", "verbose"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"emulator {command}: error: argument --log-level: invalid choice: 'verbose' "
        "(choose from critical, error, warning, info, debug)"
    )


def test_the_log_level_ignores_case_and_bad_environment_values_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMULATOR_LOG_LEVEL", "Loud")
    with pytest.raises(SystemExit) as exited:
        main(["serve"])
    assert exited.value.code == 2
    assert "invalid choice: 'Loud'" in capsys.readouterr().err
    monkeypatch.setenv("EMULATOR_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("EMULATOR_PORT", "eighty")
    with pytest.raises(SystemExit):
        main(["serve"])
    err = capsys.readouterr().err
    assert "argument --port: invalid int value: 'eighty'" in err
    assert "log-level" not in err.splitlines()[-1]  # DEBUG was accepted


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (
            "serve",
            [
                "(default: 8080)",
                "(default: 127.0.0.1)",
                "(default: .emulator)",
                "(default: fixtures)",
                "{critical,error,warning,info,debug}",
                "(default: info)",
            ],
        ),
        ("check", ["(default: nodes.yaml)", "(default: fixtures)"]),
        ("record", ["(default: 60)", "{append,new}", "(default: append)", "(default: info)"]),
    ],
)
def test_help_shows_every_default_and_the_choices(
    command: str, shown: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for part in shown:
        assert part in text


def test_the_banner_leads_with_path_urls_and_says_where_subdomains_work(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _banner(parse_config(TEST_CONFIG, "nodes.yaml"), Path("nodes.yaml"), "127.0.0.1", 8080, None)
    lines = capsys.readouterr().out.splitlines()
    support = lines.index("  support (interlocute, scripted):")
    assert lines[support + 1] == "    http://127.0.0.1:8080/nodes/support/chat"
    assert "    http://support.localhost:8080/chat" in lines
    assert (
        "The /nodes/ URLs work from any client; the *.localhost ones from curl and browsers."
        in lines
    )
