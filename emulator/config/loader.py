"""`nodes.yaml` to a validated `Config`, or a `ConfigError` listing every problem found.

The whole file is checked before anything is raised, so a user fixes all their mistakes in one
pass; issues come back in file order, each with file:line:col and a plain sentence.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

from emulator.config.checks import Checker, describe
from emulator.config.errors import ConfigError, ConfigIssue
from emulator.config.model import ALIAS_PATTERN, API_NAMES, Config, Location, Node
from emulator.config.modelspec import build_model
from emulator.config.sections import (
    build_auth,
    build_capabilities,
    build_chit,
    build_faults,
    build_knowledge,
    build_latency,
    build_pricing,
    build_rate_limit,
    build_tools,
)
from emulator.config.yamlnodes import (
    YEntry,
    YMap,
    YScalar,
    YValue,
    compose,
    deep_merge,
    expanded_size,
)

__all__ = ["MAX_CONFIG_BYTES", "load_config", "parse_config"]

MAX_CONFIG_BYTES = 1024 * 1024  # a file or a PUT body; far beyond any hand-written config
# `defaults` is copied into every node: its size times the node count is capped, or a 1 MiB
# file could still stand for 10^9 values, as an alias bomb would.
MAX_DEFAULTS_VALUES = 1_000_000

TOP_KEYS = ("version", "defaults", "nodes")
NODE_KEYS = (
    "api", "name", "description", "model", "auth", "capabilities", "tools", "knowledge", "chit",
    "latency", "faults", "rate_limit", "pricing",
)  # fmt: skip
SUPPORTED_VERSION = 1
EMPTY_FILE = "the file is empty: expected a mapping with `nodes:`"
_APIS = " | ".join(API_NAMES)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Validate `text` as nodes.yaml; `source` names it in messages and becomes `Config.path`."""
    root, syntax = compose(text, source)
    checker = Checker(source)
    checker.issues.extend(syntax)
    if root is None and not syntax:
        checker.error(Location(source, 1, 1), EMPTY_FILE)
    config = _config(checker, root) if root is not None else None
    issues = _in_file_order(checker.issues)
    if issues or config is None:
        raise ConfigError(issues, nodes=_written_nodes(root))
    return config


def _written_nodes(root: YValue | None) -> dict[str, str | None]:
    """Each node alias the file names, with its `api:` (its own, else the defaults') if that
    is a string; read from what composed, however broken the rest is."""
    if not isinstance(root, YMap):
        return {}
    nodes = root.entries.get("nodes")
    if nodes is None or not isinstance(nodes.value, YMap):
        return {}
    defaults = root.entries.get("defaults")
    fallback = _api_of(defaults.value) if defaults is not None else None
    return {alias: _api_of(entry.value) or fallback for alias, entry in nodes.value.entries.items()}


def _api_of(value: YValue) -> str | None:
    entry = value.entries.get("api") if isinstance(value, YMap) else None
    api = entry.value if entry is not None else None
    return api.value if isinstance(api, YScalar) and isinstance(api.value, str) else None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a nodes.yaml file. Every failure, reading included, is a ConfigError."""
    return parse_config_bytes(read_config_file(path), os.fspath(path))


def read_config_file(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes; a missing, unreadable or directory path is a ConfigError. A file over
    MAX_CONFIG_BYTES is read no further than one byte past it (then refused when parsed)."""
    name = os.fspath(path)
    try:
        with Path(name).open("rb") as handle:
            return handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise _plain(f"config file '{name}' does not exist") from None
    except IsADirectoryError:
        raise _plain(f"config file '{name}' is a directory, not a file") from None
    except PermissionError:
        raise _plain(f"config file '{name}' cannot be read: permission denied") from None
    except OSError as exc:
        raise _plain(f"config file '{name}' cannot be read: {exc.strerror or exc}") from None


def parse_config_bytes(data: bytes, source: str) -> Config:
    """Validate raw file bytes (UTF-8, an optional BOM) as nodes.yaml named `source`."""
    name = source
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([too_large(data, name)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        message = f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded)"
        raise ConfigError([ConfigIssue(Location(name, line, column), message)]) from None
    return parse_config(text, name)


def too_large(data: bytes, source: str) -> ConfigIssue:
    """The issue for a config over MAX_CONFIG_BYTES, placed at the first byte past the limit."""
    before = data[:MAX_CONFIG_BYTES].decode("utf-8", "ignore")
    line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
    message = f"the config is too large: the limit is {MAX_CONFIG_BYTES:,} bytes (1 MiB)"
    return ConfigIssue(Location(source, line, column), message)


def _plain(message: str) -> ConfigError:
    return ConfigError([ConfigIssue(None, message)])


def _config(c: Checker, root: YValue) -> Config | None:
    if not isinstance(root, YMap):
        c.error(root.loc, f"the top level must be a mapping with `nodes:`, got {describe(root)}")
        return None
    # `x-...` keys are free for YAML anchors to share, as in docker compose files.
    own = {key: entry for key, entry in root.entries.items() if not key.startswith("x-")}
    top = c.mapping(YMap(own, root.loc), "the top level", TOP_KEYS)
    assert top is not None
    version = _version(c, top)
    defaults = c.mapping(c.get(top, "defaults"), "defaults", NODE_KEYS)
    entries = _node_entries(c, top)
    if defaults is not None and not _defaults_fit(c, defaults, len(entries)):
        return None
    nodes: dict[str, Node] = {}
    merged_by_alias: dict[str, YMap] = {}
    for alias, entry in entries.items():
        merged = _merged(c, alias, entry, defaults)
        node = _node(c, alias, entry, merged) if merged is not None else None
        if node is not None and merged is not None:
            nodes[alias] = node
            merged_by_alias[alias] = merged
    _check_api_keys(c, nodes, merged_by_alias)
    _check_jwt(c, nodes)
    _check_slugs(c, nodes)
    return Config(nodes=MappingProxyType(nodes), path=c.source, version=version)


def _defaults_fit(c: Checker, defaults: YMap, count: int) -> bool:
    total = expanded_size(defaults) * count
    if total <= MAX_DEFAULTS_VALUES:
        return True
    c.error(
        defaults.loc,
        f"defaults: copied into each of the {count:,} nodes, these values make {total:,}, more "
        f"than {MAX_DEFAULTS_VALUES:,}; move large values into the nodes that need them",
    )
    return False


def _version(c: Checker, top: YMap) -> int:
    value = c.get(top, "version")
    version = c.integer(value, "version")
    if value is not None and version is not None and version != SUPPORTED_VERSION:
        c.error(
            value.loc, f"version: this emulator reads version {SUPPORTED_VERSION}, got {version}"
        )
    return SUPPORTED_VERSION


def _node_entries(c: Checker, top: YMap) -> dict[str, YEntry]:
    value = c.require(top, "nodes", "the config", " (a mapping from alias to node)")
    if value is None:
        return {}
    if not isinstance(value, YMap):
        c.expected("nodes", "a mapping from alias to node", value)
        return {}
    if not value.entries:
        c.error(value.loc, "nodes: expected at least one node")
    for alias, entry in value.entries.items():
        if not ALIAS_PATTERN.fullmatch(alias):
            c.error(
                entry.key_loc,
                f"node alias '{alias}' is not valid: use 1 to 63 lowercase "
                "letters, digits and '-', starting with a letter or digit",
            )
    return dict(value.entries)


def _merged(c: Checker, alias: str, entry: YEntry, defaults: YMap | None) -> YMap | None:
    """The node's own mapping over `defaults`, its own keys checked here once."""
    value = entry.value
    if isinstance(value, YScalar) and value.value is None:
        c.error(entry.key_loc, f"node '{alias}' is empty: expected a mapping with at least `api:`")
        return None
    if not isinstance(value, YMap):
        c.expected(f"node '{alias}'", "a mapping", value)
        return None
    own = c.mapping(value, f"node '{alias}'", NODE_KEYS)
    assert own is not None
    if defaults is None:
        return own
    merged = deep_merge(defaults, own)
    assert isinstance(merged, YMap)
    return merged


def _node(c: Checker, alias: str, entry: YEntry, m: YMap) -> Node | None:
    api_value = c.get(m, "api")
    if api_value is None:
        c.error(entry.key_loc, f"node '{alias}' is missing `api:` (one of {_APIS})")
    api = c.choice(api_value, "api", API_NAMES)
    knowledge = build_knowledge(c, c.get(m, "knowledge"))
    tools = build_tools(c, c.get(m, "tools"))
    node = Node(
        alias=alias,
        api=api or "interlocute",
        name=c.string(c.get(m, "name"), "name") or alias,
        description=c.string(c.get(m, "description"), "description", empty=True) or "",
        model=build_model(c, c.get(m, "model"), [doc.id for doc in knowledge]),
        auth=build_auth(c, c.get(m, "auth")),
        capabilities=build_capabilities(
            c, c.get(m, "capabilities"), rag=bool(knowledge), tool_use=bool(tools)
        ),
        tools=tools,
        knowledge=knowledge,
        chit=build_chit(c, c.get(m, "chit")),
        latency=build_latency(c, c.get(m, "latency")),
        faults=build_faults(c, c.get(m, "faults")),
        rate_limit=build_rate_limit(c, c.get(m, "rate_limit")),
        pricing=build_pricing(c, c.get(m, "pricing")),
        location=entry.key_loc,
    )
    return node if api is not None else None


def _key_locations(m: YMap) -> Iterator[tuple[str, Location]]:
    """Each configured API key of a node with where it was written."""
    auth = Checker.get(m, "auth")
    keys = Checker.get(auth, "api_keys") if isinstance(auth, YMap) else None
    for item in getattr(keys, "items", ()):
        if isinstance(item, YScalar) and isinstance(item.value, str | int | float):
            yield (item.raw if not isinstance(item.value, str) else item.value), item.loc


def _check_api_keys(c: Checker, nodes: dict[str, Node], merged: dict[str, YMap]) -> None:
    """A credential of one node must never open another."""
    owners: dict[str, str] = {}
    for alias in nodes:
        seen: set[str] = set()
        for key, loc in _key_locations(merged[alias]):
            if key in seen:
                c.error(loc, f"api_keys: '{key}' is listed twice")
            elif key in owners:
                c.error(
                    loc,
                    f"api_keys: '{key}' is also a key of node '{owners[key]}'; "
                    "a key must open one node only",
                )
            seen.add(key)
            owners.setdefault(key, alias)


def _check_jwt(c: Checker, nodes: dict[str, Node]) -> None:
    """Two nodes may share a JWT secret only if each has its own audience."""
    earlier: list[Node] = []
    for node in nodes.values():
        jwt = node.auth.jwt
        if jwt is None:
            continue
        for other in earlier:
            theirs = other.auth.jwt
            assert theirs is not None
            apart = jwt.audience and theirs.audience and jwt.audience != theirs.audience
            if jwt.secret == theirs.secret and not apart:
                c.error(
                    node.location,
                    f"jwt: node '{node.alias}' has the same secret as node "
                    f"'{other.alias}', so a token for one would open the other; give each "
                    "its own secret or its own `audience`",
                )
                break
        earlier.append(node)


def _check_slugs(c: Checker, nodes: dict[str, Node]) -> None:
    """agent-slug nodes answer to their alias and to their slugified name: no two may collide."""
    taken: dict[str, str] = {}
    for node in nodes.values():
        if node.api != "agent-slug":
            continue
        if not node.slug:
            c.error(
                node.location,
                f"name '{node.name}' has no letters or digits, so it gives "
                "no slug for the agent-slug API",
            )
        for slug in dict.fromkeys(s for s in (node.alias, node.slug) if s):
            if slug in taken:
                c.error(
                    node.location,
                    f"duplicate slug '{slug}': node '{taken[slug]}' "
                    "already answers to it on the agent-slug API",
                )
            else:
                taken[slug] = node.alias


def _in_file_order(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Sorted by position (stable), without repeats (a bad default is seen once per node)."""
    unique = list(dict.fromkeys(issues))

    def position(issue: ConfigIssue) -> tuple[int, str, int, int]:
        loc = issue.location
        return (0, loc.file, loc.line, loc.column) if loc else (1, "", 0, 0)

    return sorted(unique, key=position)
