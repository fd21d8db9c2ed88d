"""What counts as a secret for the recorder."""

from __future__ import annotations

import base64

from emulator.config.loader import parse_config
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
