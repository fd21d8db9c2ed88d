"""Which node a request is for (SPEC section 5), from neutral hints an API extracts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from emulator.config.model import Config, Node
from emulator.core.auth import looks_like_jwt
from emulator.core.errors import NodeNotFound, Unauthorized


class Hints(msgspec.Struct, frozen=True):
    path_alias: str | None = None  # /nodes/{alias}/...
    host: str | None = None  # Host header, e.g. "support.localhost:8080"
    api_id: str | None = None  # agent-slug {slug}, sentientone X-Agent-Id
    api_id_api: str | None = None  # the API whose own id `api_id` is
    credential: str | None = None  # not read (and may be left out) when path_alias is set


class Unloaded(msgspec.Struct, frozen=True):
    """Nodes written in the config file that the running config lacks, because the file's last
    load failed: alias -> the `api:` written for it (None if unreadable), and why."""

    nodes: Mapping[str, str | None] = msgspec.field(default_factory=dict)
    error: str = ""


NOTHING_UNLOADED = Unloaded()


class NoNodeForCredential(Unauthorized):
    """A URL several nodes of `api` share, and a credential that opens none of them."""

    def __init__(self, message: str, *, api: str) -> None:
        super().__init__(message)
        self.api = api


class _Index(msgspec.Struct, frozen=True):
    """What resolution looks up on every request, computed once per config."""

    by_api: Mapping[str, tuple[Node, ...]]
    key_owners: Mapping[str, tuple[Node, ...]]


_last_index: list[tuple[Config, _Index]] = []  # one slot: the config in use, rebuilt on reload


def _index(config: Config) -> _Index:
    if _last_index and _last_index[0][0] is config:
        return _last_index[0][1]
    by_api: dict[str, list[Node]] = {}
    owners: dict[str, list[Node]] = {}
    for node in config.nodes.values():
        by_api.setdefault(node.api, []).append(node)
        for key in node.auth.api_keys:
            owners.setdefault(key, []).append(node)
    built = _Index(
        {api: tuple(nodes) for api, nodes in by_api.items()},
        {key: tuple(nodes) for key, nodes in owners.items()},
    )
    _last_index[:] = [(config, built)]
    return built


def alias_from_host(host: str | None) -> str | None:
    """`support.localhost:8080` -> `support`; plain `localhost` or an IP gives None."""
    if not host:
        return None
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    if not name.endswith(".localhost"):
        return None
    return name.removesuffix(".localhost").rsplit(".", 1)[-1] or None


def addressed_api(
    config: Config, hints: Hints, apis: Sequence[str], unloaded: Unloaded = NOTHING_UNLOADED
) -> str | None:
    """The API a request is addressed to, from what is known before its body is read: the
    alias (path, then Host), the API's own id, a key of exactly one node, or the only API of
    `apis` (those serving the path) that has nodes. None when these leave it open."""
    alias = hints.path_alias
    if alias is None:
        alias = alias_from_host(hints.host)
    if alias is not None:  # the Host is looked at only without a path alias
        node = config.nodes.get(alias)
        return node.api if node is not None else unloaded.nodes.get(alias)
    if hints.api_id_api is not None:
        return hints.api_id_api
    index = _index(config)
    if hints.credential:
        owners = [n for n in index.key_owners.get(hints.credential, ()) if n.api in apis]
        if len(owners) == 1:
            return owners[0].api
    present = [api for api in apis if api in index.by_api]
    return present[0] if len(present) == 1 else None


def resolve_node(
    config: Config, hints: Hints, apis: Sequence[str], unloaded: Unloaded = NOTHING_UNLOADED
) -> Node:
    """Resolve in SPEC order: path prefix, Host subdomain, the API's own id, a key that belongs
    to exactly one node, the only node of the API. `apis` lists the APIs that serve the route,
    the one the request most resembles first.

    A credential that opens no node on a URL several nodes share is a 401 (NoNodeForCredential),
    as the hosted service would answer; a 404 names the closest alias, or says the node is in
    the file but did not load."""
    alias = hints.path_alias
    if alias is None:
        alias = alias_from_host(hints.host)
    if alias is not None:
        node = _by_alias(config, alias, apis, unloaded)
        if hints.api_id is not None and hints.api_id not in (node.alias, node.slug):
            # /nodes/a/... with a slug or agent id naming another node: refuse, don't guess
            raise NodeNotFound(f"Node '{hints.api_id}' not found", ident=hints.api_id)
        return node
    if hints.api_id is not None:
        own = [hints.api_id_api] if hints.api_id_api else apis
        return _by_api_id(config, hints.api_id, own, unloaded)
    index = _index(config)
    if hints.credential:
        owners = [n for n in index.key_owners.get(hints.credential, ()) if n.api in apis]
        if len(owners) == 1:
            return owners[0]
    for api in apis:
        nodes = index.by_api.get(api, ())
        if len(nodes) == 1:
            return nodes[0]
        if nodes:
            raise NoNodeForCredential(_unopened(hints.credential), api=api)
    raise NodeNotFound("No node matches this request; address one by /nodes/{alias}/ or Host")


def _unopened(credential: str | None) -> str:
    if not credential:
        return "Missing credentials"
    if looks_like_jwt(credential):
        return "This token names no node here; address the node by /nodes/{alias}/ or Host"
    return "Invalid API key"


def _by_alias(config: Config, alias: str, apis: Sequence[str], unloaded: Unloaded) -> Node:
    node = config.nodes.get(alias)
    if node is None:
        raise _missing(config, alias, [n.alias for n in config.nodes.values()], unloaded)
    if node.api not in apis:
        raise NodeNotFound(f"Node '{alias}' does not serve this path", ident=alias)
    return node


def _by_api_id(config: Config, ident: str, apis: Sequence[str], unloaded: Unloaded) -> Node:
    names: list[str] = []
    for api in apis:
        for node in _index(config).by_api.get(api, ()):
            if ident in (node.alias, node.slug):
                return node
            names.extend(dict.fromkeys((node.alias, node.slug)))
    raise _missing(config, ident, names, unloaded)


def _missing(config: Config, ident: str, names: Sequence[str], unloaded: Unloaded) -> NodeNotFound:
    """The 404 for a name no node has: why, if the file has it, else the closest name."""
    hint: str | None
    if ident in unloaded.nodes:
        hint = (
            f"Node '{ident}' is in the config file but is not loaded, because the file has "
            f"errors: {unloaded.error}"
        )
    else:
        from difflib import (
            get_close_matches,  # difflib loads on a miss: 1.7 ms of start-up otherwise
        )

        close = get_close_matches(ident, [n for n in names if n], n=1, cutoff=0.6)
        hint = f"Did you mean '{close[0]}'?" if close else None
    return NodeNotFound(f"Node '{ident}' not found", ident=ident, hint=hint)
