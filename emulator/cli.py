"""`emulator serve`, `emulator check` and `emulator record`. Every flag also reads an EMULATOR_*
variable."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import re
import secrets
import socket
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from emulator import __version__
from emulator.config.errors import ConfigError
from emulator.config.fixtures import FixtureLibrary, replay_problems
from emulator.config.loader import load_config
from emulator.config.model import ALIAS_PATTERN, API_NAMES, Config
from emulator.core.store import StoreError, TinyStore

if TYPE_CHECKING:
    from emulator.record.serve import RecordSettings

log = logging.getLogger("emulator")

DEFAULT_CONFIG = "nodes.yaml"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"EMULATOR_{name}", default)


def _env_flag(name: str) -> bool:
    return (_env(name) or "").strip().lower() in ("1", "true", "yes", "on")


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
HELP = argparse.ArgumentDefaultsHelpFormatter  # --help shows each flag's default


def _choice(choices: Sequence[str]) -> Callable[[str], str]:
    """An argparse `type` accepting one of `choices` in any case. argparse checks `choices`
    only on the command line; as a `type` it also checks a value from an EMULATOR_* variable
    (argparse converts string defaults with it), so a bad one is a usage error too."""

    def convert(value: str) -> str:
        if value.lower() not in choices:
            raise argparse.ArgumentTypeError(
                f"invalid choice: '{value}' (choose from {', '.join(choices)})"
            )
        return value.lower()

    return convert


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emulator", description="A local, offline emulator of hosted chat-agent APIs."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="serve the nodes of a config file", formatter_class=HELP
    )
    serve.add_argument(
        "--config",
        default=_env("CONFIG"),
        help="nodes.yaml; without it ./nodes.yaml, else the bundled demo [EMULATOR_CONFIG]",
    )
    _listening(serve)
    store = serve.add_mutually_exclusive_group()
    store.add_argument(
        "--data", default=_env("DATA", ".emulator"), help="where threads are stored [EMULATOR_DATA]"
    )
    store.add_argument(
        "--memory",
        action="store_true",
        default=_env_flag("MEMORY"),
        help="keep threads in memory only [EMULATOR_MEMORY]",
    )
    _fixtures(serve)
    serve.add_argument(
        "--no-reload",
        action="store_true",
        default=_env_flag("NO_RELOAD"),
        help="do not watch the config for changes [EMULATOR_NO_RELOAD]",
    )
    serve.add_argument(
        "--seed",
        type=int,
        default=_env("SEED"),
        help="makes ids and lorem text repeat from run to run [EMULATOR_SEED]",
    )
    serve.add_argument(
        "--control-token",
        default=_env("CONTROL_TOKEN"),
        help="token for /_emulator/ when bound beyond loopback [EMULATOR_CONTROL_TOKEN]",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[h for h in (_env("ALLOWED_HOSTS") or "").split(",") if h.strip()],
        metavar="NAME",
        help="another Host name the control plane answers to (repeatable; .example.test for a "
        "domain and its subdomains) [EMULATOR_ALLOWED_HOSTS, comma-separated]",
    )

    check = commands.add_parser(
        "check", help="validate a config file; exit 1 on errors", formatter_class=HELP
    )
    check.add_argument(
        "config", nargs="?", default=_env("CONFIG", DEFAULT_CONFIG), help="[EMULATOR_CONFIG]"
    )
    _fixtures(check)
    _record_parser(commands)
    repair = commands.add_parser(
        "repair",
        help="keep a damaged store's good records, move the bad aside",
        formatter_class=HELP,
    )
    repair.add_argument(
        "--data", default=_env("DATA", ".emulator"), help="the store to repair [EMULATOR_DATA]"
    )
    return parser


def _listening(parser: argparse.ArgumentParser) -> None:
    """--host, --port and --log-level, shared by the commands that run a server."""
    parser.add_argument(
        "--host", default=_env("HOST", "127.0.0.1"), help="the address to listen on [EMULATOR_HOST]"
    )
    # String defaults: argparse converts them with `type`, so a bad EMULATOR_PORT is a usage
    # error, not a traceback.
    parser.add_argument(
        "--port", type=int, default=_env("PORT", "8080"), help="0 picks a free port [EMULATOR_PORT]"
    )
    parser.add_argument(
        "--log-level",
        type=_choice(LOG_LEVELS),
        choices=LOG_LEVELS,
        default=_env("LOG_LEVEL", "info"),
        help="[EMULATOR_LOG_LEVEL]",
    )


def _fixtures(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fixtures",
        default=_env("FIXTURES", "fixtures"),
        help="the directory of replay fixtures [EMULATOR_FIXTURES]",
    )


def _required(parser: argparse.ArgumentParser, flag: str, env: str, what: str) -> None:
    """A flag that must be given, on the command line or in EMULATOR_<env>."""
    given = _env(env)
    parser.add_argument(
        flag, default=given, required=given is None, help=f"{what} [EMULATOR_{env}]"
    )


def _record_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record = commands.add_parser(
        "record",
        help="proxy a real service and record its chat turns as a replay fixture",
        formatter_class=HELP,
    )
    _required(record, "--api", "API", f"the upstream's API: {' | '.join(API_NAMES)}")
    _required(record, "--upstream", "UPSTREAM", "the real service's base URL, http(s)")
    _required(record, "--node", "NODE", "the alias of the node that will replay it")
    record.add_argument(
        "--fixture",
        default=_env("FIXTURE"),
        help="fixture name (default: the alias) [EMULATOR_FIXTURE]",
    )
    _fixtures(record)
    record.add_argument(
        "--config",
        default=_env("CONFIG"),
        help="a nodes.yaml whose api_keys and JWT secrets are redacted too [EMULATOR_CONFIG]",
    )
    _listening(record)
    record.add_argument(
        "--timeout",
        type=float,
        default=_env("TIMEOUT", "60"),
        help="seconds to wait for the upstream's next byte (504 after) [EMULATOR_TIMEOUT]",
    )
    record.add_argument(
        "--mode",
        type=_choice(("append", "new")),
        choices=("append", "new"),
        default=_env("RECORD_MODE", "append"),
        help="append: add turns to an existing fixture; new: the first turn recorded replaces "
        "it [EMULATOR_RECORD_MODE]",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return check(args.config, args.fixtures)
        if args.command == "record":
            return record(args)
        if args.command == "repair":
            return repair(args.data)
        return serve(args)
    except KeyboardInterrupt:  # Ctrl-C before the server took over the signal
        print("emulator: stopped", file=sys.stderr, flush=True)
        return 130


def repair(data: str) -> int:
    """Rewrite the store in `data` from its good records; 0 when it can be served again."""
    try:
        done = TinyStore.repair(data)
    except StoreError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 1
    kept = ", ".join(_count(done.kept[t], t.rstrip("s")) for t in ("threads", "messages"))
    moved = f"moved {_count(done.moved, 'damaged piece')} to {done.side_file}"
    print(f"{data}: kept {kept}; {moved if done.moved else 'nothing was damaged'}")
    return 0


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


def demo_fixtures(fixtures: str | os.PathLike[str]) -> Path:
    """Where the bundled demo's replay node finds its fixture: `fixtures` if that directory
    exists, else the copy inside the package."""
    if Path(fixtures).is_dir():
        return Path(fixtures)
    return Path(str(resources.files("emulator").joinpath("demo_fixtures")))


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
        args.fixtures = str(demo_fixtures(args.fixtures))
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"emulator: cannot start, the config has errors:\n{exc}", file=sys.stderr)
        return 1
    sock = _listen(args.host, args.port)
    if sock is None:
        return 1
    port = sock.getsockname()[1]
    token = args.control_token
    if token is None and not _is_loopback(args.host):
        token = secrets.token_urlsafe(24)

    from emulator.server import run  # uvicorn and the app load only when serving

    def banner() -> None:
        _banner(config, path, args.host, port, token)
        for problem in replay_problems(config, FixtureLibrary(args.fixtures)):
            # Not fatal: the fixture may be recorded or fixed while serving (read per turn).
            log.warning("warning: %s", problem)

    # The bundled demo lives inside the installed package: nothing there for a user to edit.
    reload = not args.no_reload and not bundled
    return run(config, sock, args, control_token=token, reload=reload, banner=banner)


FIXTURE_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"


def record(args: argparse.Namespace) -> int:
    """`emulator record`: a proxy to the real service that appends each chat turn to a fixture."""
    fixture = args.fixture or args.node
    problem = _record_problem(args, fixture)
    if problem is not None:
        print(f"emulator: {problem}", file=sys.stderr)
        return 1
    try:
        configured = _configured_secrets(args.config)
    except ConfigError as exc:
        print(f"emulator: cannot start, the config has errors:\n{exc}", file=sys.stderr)
        return 1
    sock = _listen(args.host, args.port)
    if sock is None:
        return 1

    # the proxy loads only when recording
    from emulator.record.recorder import RecordMode
    from emulator.record.serve import RecordSettings, run

    settings = RecordSettings(
        api=args.api,
        upstream=args.upstream,
        node=args.node,
        fixture=fixture,
        fixtures=args.fixtures,
        secrets=frozenset(configured | _url_secrets(args.upstream)),
        timeout=args.timeout,
        log_level=args.log_level,
        mode=RecordMode(args.mode),
    )
    _record_banner(settings, args.host, sock.getsockname()[1], bool(args.config))
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s")
    return run(settings, sock)


def _configured_secrets(path: str | None) -> set[str]:
    """Every API key and JWT secret in the config at `path` (none without one)."""
    if not path:
        return set()
    from emulator.record.recorder import configured_secrets

    return configured_secrets(load_config(path))


def _record_banner(settings: RecordSettings, host: str, port: int, configured: bool) -> None:
    from emulator.record.upstream import public_url

    path = FixtureLibrary(settings.fixtures).path(settings.fixture)
    upstream = public_url(settings.upstream)
    lines = [
        f"chat-api-emulator {__version__}: recording {settings.api} from {upstream} into {path}",
        f"Listening on http://{host}:{port}",
        f"  Point your client here instead of {upstream}; each chat turn is appended to {path}.",
        *(
            [f"  Mode new: the first turn recorded replaces {path}."]
            if settings.mode == "new" and path.exists()
            else []
        ),
        *(
            []
            if configured
            else ["  No --config: only the credentials each request carries are redacted."]
        ),
        "  Replay it with this node in nodes.yaml:",
        f"    {settings.node}:",
        f"      api: {settings.api}",
        f"      model: {{kind: replay, fixture: {settings.fixture}}}",
    ]
    for line in lines:
        print(line, flush=True)


def _record_problem(args: argparse.Namespace, fixture: str) -> str | None:
    """What is wrong with `record`'s arguments, in one line; None when nothing is."""
    if args.api not in API_NAMES:
        return f"--api must be one of {', '.join(API_NAMES)}; got '{args.api}'"
    if not ALIAS_PATTERN.fullmatch(args.node):
        return f"--node must be an alias like 'support' ([a-z0-9][a-z0-9-]*); got '{args.node}'"
    if not re.fullmatch(FIXTURE_NAME, fixture):
        return f"--fixture must be a file name like 'support' (no directories); got '{fixture}'"
    if not args.timeout > 0:
        return f"--timeout must be a positive number of seconds; got {args.timeout}"
    return _upstream_problem(args.upstream)


def _upstream_problem(url: str) -> str | None:
    example = "e.g. http://127.0.0.1:9000 or https://api.example.com/v1"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError when out of range)
    except ValueError:
        return f"--upstream is not a valid URL ({example}); got '{url}'"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--upstream must be an http:// or https:// URL ({example}); got '{url}'"
    if parts.query or parts.fragment:
        return f"--upstream takes a base URL with no query or fragment ({example}); got '{url}'"
    return None


def _url_secrets(url: str) -> set[str]:
    """A password written into the upstream URL."""
    password = urlsplit(url).password
    return {password} if password else set()


def _listen(host: str, port: int) -> socket.socket | None:
    """The bound socket, or None after saying in one line why it cannot be had."""
    try:
        return bind(host, port)
    except OSError as exc:
        print(f"emulator: cannot listen on {host}:{port}: {_explain(exc)}", file=sys.stderr)
        return None


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (0: a free one), for uvicorn to serve on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As uvicorn does: the last run's connections in TIME_WAIT (a browser tab, a keep-alive
        # client, a stream cut by Ctrl-C) do not hold the port for a minute. A port another
        # process listens on still fails with EADDRINUSE (that needs SO_REUSEPORT, not set).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening now, not when uvicorn starts, closes the window in which another process
        # could bind the same port too, and queues early clients instead of refusing them.
        sock.listen(2048)
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
    if any(
        ".localhost:" in url
        for node in config.nodes.values()
        for url in node_urls(node, host, port)
    ):
        # Node's fetch, requests and httpx fail on *.localhost on most Linux systems.
        print(
            "The /nodes/ URLs work from any client; the *.localhost ones from curl and browsers.",
            flush=True,
        )
    print(f"Console: http://{host}:{port}/  (in a browser)", flush=True)
    print(f"Control plane: http://{host}:{port}/_emulator/health", flush=True)
    if token is not None:
        print(f"Control token: {token}  (send Authorization: Bearer <token>)", flush=True)
