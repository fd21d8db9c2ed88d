"""The APIs this server speaks. Adding an API: one package, one line in API_ROUTES."""

from __future__ import annotations

import re

from emulator.apis import agent_slug, interlocute, sentientone, widget
from emulator.apis.base import Endpoint
from emulator.config.model import Node

API_ROUTES: list[tuple[str, str, Endpoint]] = [
    *interlocute.ROUTES,
    *agent_slug.ROUTES,
    *sentientone.ROUTES,
    *widget.ROUTES,
]


def node_urls(node: Node, host: str, port: int) -> list[str]:
    """Where a node answers: by subdomain (curl and browsers resolve *.localhost) and by path."""
    paths = sorted(
        {path for _, path, ep in API_ROUTES if ep.dialect.name == node.api},
        key=lambda p: (len(p), p),
    )
    paths = [re.sub(r"\{slug(:\w+)?\}", node.alias, p) for p in paths]
    paths = [p for p in paths if "{" not in p]  # e.g. /chit/{section}: /chit stands for it
    loopback = host in ("127.0.0.1", "localhost", "0.0.0.0", "::1", "::")
    urls = [f"http://{node.alias}.localhost:{port}{p}" for p in paths] if loopback else []
    return urls + [f"http://{_display(host)}:{port}/nodes/{node.alias}{p}" for p in paths]


def _display(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host
