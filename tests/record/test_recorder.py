"""What counts as a secret, and how a turn is redacted before it is written."""

from __future__ import annotations

import base64

from emulator.config.loader import parse_config
from emulator.core.fixtures import REDACTED, FixtureTurn, Frame, RecordedSource, redact
from emulator.record.recorder import configured_secrets, credentials


def test_credentials_are_every_key_and_token_a_request_carries() -> None:
    basic = base64.b64encode(b"me:pa55word").decode()
    found = credentials(
        [
            ("Authorization", "Bearer eyJ.token.sig"),
            ("X-Api-Key", "sk-1"),
            ("x-widget-api-key", "wk-2"),
            ("Proxy-Authorization", f"Basic {basic}"),
            ("Cookie", "session=abc123; theme=dark"),
            ("X-Auth-Token", "tok-3"),
            ("X-Agent-Id", "researcher"),  # an id, not a secret
            ("Content-Type", "application/json"),
        ]
    )
    assert found >= {"eyJ.token.sig", "Bearer eyJ.token.sig", "sk-1", "wk-2", "tok-3"}
    assert {basic, "pa55word", "abc123", "dark"} <= found
    assert "researcher" not in found and "application/json" not in found


def test_configured_secrets_are_every_nodes_keys_and_jwt_secrets() -> None:
    config = parse_config(
        """
version: 1
nodes:
  a: {api: interlocute, auth: {api_keys: [k-1, k-2], jwt: {secret: s-1}}}
  b: {api: widget, auth: {api_keys: [k-3]}}
  c: {api: agent-slug}
""",
        "nodes.yaml",
    )
    assert configured_secrets(config) == {"k-1", "k-2", "k-3", "s-1"}


def test_redact_joins_only_the_frames_a_secret_is_cut_across() -> None:
    turn = FixtureTurn(
        "my key is sk-123",
        (
            Frame("Your", 10),
            Frame(" key sk", 20),
            Frame("-1", 30),
            Frame("23 is", 40),
            Frame(" ok", 50),
        ),
        (RecordedSource("d", "about sk-123", "https://x/?k=sk-123", snippet="sk-123"),),
    )
    hidden = redact(turn, ["sk-123", ""])
    assert hidden.message == f"my key is {REDACTED}"
    assert [(f.text, f.ms) for f in hidden.frames] == [
        ("Your", 10),
        (f" key {REDACTED} is", 40),
        (" ok", 50),
    ]
    (source,) = hidden.sources
    assert "sk-123" not in f"{source.title}{source.url}{source.snippet}"
    assert redact(turn, []) is turn
