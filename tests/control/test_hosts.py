"""Which Host and Origin values name this server (pure logic; the HTTP rules are in
test_security.py)."""

from __future__ import annotations

import pytest

from emulator.control.hosts import HostPolicy, split_host
from emulator.control.security import is_control_path

POLICY = HostPolicy.of(["Emulator.", ".corp.test", " ", "."])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:8080", ("::1", 8080)),
        ("[::1]", ("::1", None)),
        ("Support.LOCALHOST.", ("support.localhost", None)),
        ("localhost:http", ("localhost", None)),
        ("::1", ("::1", None)),  # unbracketed IPv6 is not valid, but is not a port either
        ("", ("", None)),
    ],
)
def test_split_host(header: str, expected: tuple[str, int | None]) -> None:
    assert split_host(header) == expected


@pytest.mark.parametrize(
    ("name", "bound", "allowed"),
    [
        ("localhost", "127.0.0.1", True),
        ("a.b.localhost", "127.0.0.1", True),
        ("localhost.example", "127.0.0.1", False),
        ("127.0.0.53", "127.0.0.1", True),
        ("::1", "127.0.0.1", True),
        ("10.0.0.5", "127.0.0.1", False),
        ("10.0.0.5", "10.0.0.5", True),
        ("10.0.0.5", "0.0.0.0", True),
        ("10.0.0.5", "::", True),
        ("emulator", "127.0.0.1", True),
        ("corp.test", "127.0.0.1", True),
        ("ci.corp.test", "127.0.0.1", True),
        ("evilcorp.test", "127.0.0.1", False),
        ("attacker.example", "0.0.0.0", False),
        ("", "127.0.0.1", False),
        ("testserver.local", "testserver.local", True),
    ],
)
def test_allows(name: str, bound: str, allowed: bool) -> None:
    assert POLICY.allows(name, bound) is allowed


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080", True),
        ("http://127.0.0.1:5173", False),
        ("http://127.0.0.1", False),
        ("https://127.0.0.1:8080", True),
        ("http://attacker.example:8080", False),
        ("null", False),
        ("file://", False),
        ("http://127.0.0.1:99999", False),
    ],
)
def test_allows_origin(origin: str, allowed: bool) -> None:
    assert POLICY.allows_origin(origin, "127.0.0.1:8080", "127.0.0.1") is allowed


@pytest.mark.parametrize(
    ("path", "control"),
    [
        ("/", True),
        ("//", True),
        ("", True),
        ("/_emulator", True),
        ("//_emulator//reset", True),
        ("/_emulator/ui/", True),
        ("/_emulatorx", False),
        ("/nodes/a/_emulator", False),
        ("/chat", False),
        ("/nodes/support/chat", False),
    ],
)
def test_which_paths_are_the_control_plane_s(path: str, control: bool) -> None:
    assert is_control_path(path) is control
