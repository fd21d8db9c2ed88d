"""`emulator serve` and `emulator check`. Every flag also reads an EMULATOR_* variable."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import secrets
import socket
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from emulator import __version__
from emulator.config.errors import ConfigError
from emulator.config.fixtures import FixtureLibrary, replay_problems
from emulator.config.loader import load_config
from emulator.config.model import Config

log = logging.getLogger("emulator")

DEFAULT_CONFIG = "nodes.yaml"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"EMULATOR_{name}", default)


def _env_flag(name: str) -> bool:
    return (_env(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emulator", description="A local, offline emulator of hosted chat-agent APIs."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the nodes of a config file")
    serve.add_argument("--config", default=_env("CONFIG"), help="nodes.yaml [EMULATOR_CONFIG]")
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="[EMULATOR_HOST]")
    serve.add_argument(
        "--port",
        type=int,
        default=int(_env("PORT", "8080") or 8080),
        help="0 picks a free port [EMULATOR_PORT]",
    )
    store = serve.add_mutually_exclusive_group()
    store.add_argument("--data", default=_env("DATA", ".emulator"), help="[EMULATOR_DATA]")
    store.add_argument(
        "--memory",
        action="store_true",
        default=_env_flag("MEMORY"),
        help="keep threads in memory only [EMULATOR_MEMORY]",
    )
    serve.add_argument(
        "--fixtures", default=_env("FIXTURES", "fixtures"), help="[EMULATOR_FIXTURES]"
    )
    serve.add_argument(
        "--no-reload",
        action="store_true",
        default=_env_flag("NO_RELOAD"),
        help="do not watch the config for changes [EMULATOR_NO_RELOAD]",
    )
    serve.add_argument(
        "--seed", type=int, default=int(s) if (s := _env("SEED")) else None, help="[EMULATOR_SEED]"
    )
    serve.add_argument(
        "--control-token",
        default=_env("CONTROL_TOKEN"),
        help="token for /_emulator/ when bound beyond loopback [EMULATOR_CONTROL_TOKEN]",
    )
    serve.add_argument(
        "--log-level", default=_env("LOG_LEVEL", "info"), help="[EMULATOR_LOG_LEVEL]"
    )

    check = commands.add_parser("check", help="validate a config file; exit 1 on errors")
    check.add_argument("config", nargs="?", default=_env("CONFIG", DEFAULT_CONFIG))
    check.add_argument(
        "--fixtures",
        default=_env("FIXTURES", "fixtures"),
        help="where replay nodes' fixtures are [EMULATOR_FIXTURES]",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return check(args.config, args.fixtures)
    return serve(args)


def check(path: str, fixtures: str = "fixtures") -> int:
    """The config, and the fixtures its replay nodes need; 0 when all can be used."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    problems = replay_problems(config, FixtureLibrary(fixtures))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    replayed = sum(node.model.kind == "replay" for node in config.nodes.values())
    checked = f"; fixtures of {_count(replayed, 'replay node')} in {fixtures}" if replayed else ""
    print(f"{path}: OK ({_count(len(config.nodes), 'node')}: {', '.join(config.nodes)}{checked})")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def bundled_config_path() -> Path:
    return Path(str(resources.files("emulator").joinpath("demo_nodes.yaml")))


def resolve_config_path(given: str | None) -> tuple[Path, bool]:
    """The config to serve, and whether it is the bundled demo (no nodes.yaml here)."""
    if given:
        return Path(given), False
    if Path(DEFAULT_CONFIG).exists():
        return Path(DEFAULT_CONFIG), False
    return bundled_config_path(), True


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s")
    path, bundled = resolve_config_path(args.config)
    if bundled:
        log.info("No nodes.yaml in %s: serving the bundled demo config %s", Path.cwd(), path)
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"emulator: cannot start, the config has errors:\n{exc}", file=sys.stderr)
        return 1
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(
            f"emulator: cannot listen on {args.host}:{args.port}: {_explain(exc)}", file=sys.stderr
        )
        return 1
    port = sock.getsockname()[1]
    token = args.control_token
    if token is None and not _is_loopback(args.host):
        token = secrets.token_urlsafe(24)

    from emulator.server import run  # uvicorn and the app load only when serving

    _banner(config, path, args.host, port, token)
    for problem in replay_problems(config, FixtureLibrary(args.fixtures)):
        # Not fatal: the fixture may be recorded or fixed while serving (it is read per turn).
        log.warning("warning: %s", problem)
    # The bundled demo lives inside the installed package: nothing there for a user to edit.
    reload = not args.no_reload and not bundled
    return run(config, sock, args, control_token=token, reload=reload)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _explain(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "the port is already in use; pick another with --port or EMULATOR_PORT"
    if exc.errno in (errno.EADDRNOTAVAIL, socket.EAI_NONAME):
        return "that address is not on this machine"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    return exc.strerror or str(exc)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _banner(config: Config, path: Path, host: str, port: int, token: str | None) -> None:
    from emulator.apis.registry import node_urls

    print(f"chat-api-emulator {__version__}: {len(config.nodes)} nodes from {path}", flush=True)
    print(f"Listening on http://{host}:{port}", flush=True)
    for node in config.nodes.values():
        print(f"  {node.alias} ({node.api}, {node.model.kind}):", flush=True)
        for url in node_urls(node, host, port):
            print(f"    {url}", flush=True)
    print(f"Control plane: http://{host}:{port}/_emulator/health", flush=True)
    if token is not None:
        print(f"Control token: {token}  (send Authorization: Bearer <token>)", flush=True)
