"""Which node a request is for (SPEC section 5), from neutral hints an API extracts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from emulator.config.model import Config, Node
from emulator.core.auth import owner_of_key
from emulator.core.errors import NodeNotFound


@dataclass(frozen=True, slots=True)
class Hints:
    path_alias: str | None = None  # /nodes/{alias}/...
    host: str | None = None  # Host header, e.g. "support.localhost:8080"
    api_id: str | None = None  # agent-slug {slug}, sentientone X-Agent-Id
    api_id_api: str | None = None  # the API whose own id `api_id` is
    credential: str | None = None


def alias_from_host(host: str | None) -> str | None:
    """`support.localhost:8080` -> `support`; plain `localhost` or an IP gives None."""
    if not host:
        return None
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    if not name.endswith(".localhost"):
        return None
    return name.removesuffix(".localhost").rsplit(".", 1)[-1] or None


def resolve_node(config: Config, hints: Hints, apis: Sequence[str]) -> Node:
    """Resolve in SPEC order: path prefix, Host subdomain, the API's own id, a key that belongs
    to exactly one node, the only node of the API. `apis` lists the APIs that serve the route,
    the one the request most resembles first."""
    for alias in (hints.path_alias, alias_from_host(hints.host)):
        if alias is not None:
            node = _by_alias(config, alias, apis)
            if hints.api_id is not None and hints.api_id not in (node.alias, node.slug):
                # /nodes/a/... with a slug or agent id naming another node: refuse, don't guess
                raise NodeNotFound(f"Node '{hints.api_id}' not found", ident=hints.api_id)
            return node
    if hints.api_id is not None:
        own = [hints.api_id_api] if hints.api_id_api else apis
        return _by_api_id(config, hints.api_id, own)
    if hints.credential:
        owner = owner_of_key(config, hints.credential, tuple(apis))
        if owner is not None:
            return owner
    for api in apis:
        nodes = config.nodes_of(api)
        if len(nodes) == 1:
            return nodes[0]
        if nodes:
            break
    raise NodeNotFound("No node matches this request; address one by /nodes/{alias}/ or Host")


def _by_alias(config: Config, alias: str, apis: Sequence[str]) -> Node:
    node = config.nodes.get(alias)
    if node is None or node.api not in apis:
        raise NodeNotFound(f"Node '{alias}' not found", ident=alias)
    return node


def _by_api_id(config: Config, ident: str, apis: Sequence[str]) -> Node:
    for api in apis:
        for node in config.nodes_of(api):
            if ident in (node.alias, node.slug):
                return node
    raise NodeNotFound(f"Node '{ident}' not found", ident=ident)
