"""The APIs this server speaks. Adding an API: one package, one line in API_ROUTES and one in
TRANSCRIBERS."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from emulator.apis import agent_slug, interlocute, sentientone, widget
from emulator.apis.base import Dialect, Endpoint
from emulator.config.model import Node

if TYPE_CHECKING:
    from emulator.record.transcript import Transcriber

API_ROUTES: list[tuple[str, str, Endpoint]] = [
    *interlocute.ROUTES,
    *agent_slug.ROUTES,
    *sentientone.ROUTES,
    *widget.ROUTES,
]


class _Transcribers(Mapping[str, "Transcriber"]):
    """What `emulator record` knows of each API: its chat calls and how its replies read.

    Loaded on first use: serving never needs the recorder, and it costs start-up time."""

    def __init__(self) -> None:
        self._loaded: dict[str, Transcriber] | None = None

    def _all(self) -> dict[str, Transcriber]:
        if self._loaded is None:
            from emulator.apis.agent_slug import recording as agent_slug_recording
            from emulator.apis.interlocute import recording as interlocute_recording
            from emulator.apis.sentientone import recording as sentientone_recording
            from emulator.apis.widget import recording as widget_recording

            self._loaded = {
                t.api: t
                for t in (
                    interlocute_recording.TRANSCRIBER,
                    agent_slug_recording.TRANSCRIBER,
                    sentientone_recording.TRANSCRIBER,
                    widget_recording.TRANSCRIBER,
                )
            }
        return self._loaded

    def __getitem__(self, api: str) -> Transcriber:
        return self._all()[api]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


TRANSCRIBERS: Mapping[str, Transcriber] = _Transcribers()


def dialect(api: str) -> Dialect:
    """The dialect of an API by name (its error format, its credentials)."""
    return next(ep.dialect for _, _, ep in API_ROUTES if ep.dialect.name == api)


def node_urls(node: Node, host: str, port: int) -> list[str]:
    """Where a node answers: by path first, then by subdomain (curl and browsers resolve
    *.localhost)."""
    paths = sorted(
        {path for _, path, ep in API_ROUTES if ep.dialect.name == node.api},
        key=lambda p: (len(p), p),
    )
    paths = [re.sub(r"\{slug(:\w+)?\}", node.alias, p) for p in paths]
    paths = [p for p in paths if "{" not in p]  # e.g. /chit/{section}: /chit stands for it
    loopback = host in ("127.0.0.1", "localhost", "0.0.0.0", "::1", "::")
    by_path = [f"{node_base(node, host, port)}{p}" for p in paths]
    return by_path + (
        [f"http://{node.alias}.localhost:{port}{p}" for p in paths] if loopback else []
    )


def node_base(node: Node, host: str, port: int) -> str:
    """The node's path-form base URL, `http://HOST:PORT/nodes/ALIAS`: it works with any client."""
    return f"http://{_display(host)}:{port}/nodes/{node.alias}"


def _display(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host
