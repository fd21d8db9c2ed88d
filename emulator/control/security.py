"""Who may reach what: the control plane's Host, Origin, CSRF and token rules, and CORS.

Decided in the app's one ASGI request layer (emulator/app.py), outside Litestar's routing, so
that every path (the OpenAPI schema, the console, unknown routes, preflights) gets the same rules:

- The control plane (`/_emulator`, everything under it, and `/`, where browsers get the console)
  answers only Host values naming this server (see hosts.py), and no foreign Origin: a request
  or preflight from another origin is refused, and no CORS header grants one.
- A state-changing control-plane request (POST, PUT, PATCH, DELETE) needs `X-Emulator-Client`
  or a JSON content type. A cross-site page can send neither without a preflight, and the
  preflight is refused: a form post or a text/plain `fetch` never gets through.
- With a control token, every control-plane request but the console's static files needs
  `Authorization: Bearer <token>`.
- The chat APIs are open to every origin, credentials included: the request's Origin is
  reflected with `Access-Control-Allow-Credentials: true` and `Vary: Origin`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Sequence

import msgspec
from litestar.types import HTTPScope, Message
from litestar.utils import normalize_path

from emulator.control.hosts import HostPolicy, split_host
from emulator.control.plane import PREFIX, is_plane_path

CONSOLE_FILES = PREFIX + "/ui"
CLIENT_HEADER = "x-emulator-client"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PREFLIGHT_MAX_AGE = "600"
API_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def is_control_path(path: str) -> bool:
    """The control plane's paths: `/_emulator`, under it, and `/` (the console for browsers).

    `path` as Litestar's router reads it, which collapses repeated slashes: `//_emulator/reset`
    reaches the reset route, so it must meet the control plane's rules too.
    """
    return not path.strip("/") or is_plane_path(path)  # only slashes: the console's `/`


class Cors(msgspec.Struct, frozen=True):
    """The CORS headers a response gets: `origin` reflected (if sent), with credentials and
    exposed headers for the chat APIs, and `Vary: Origin` always."""

    origin: str | None
    exposed: bytes
    credentials: bool

    def apply(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """`headers` without their own CORS and Vary headers, then Vary (with Origin added:
        one header, so caches and clients read it whole) and ours."""
        kept: list[tuple[bytes, bytes]] = []
        varies: list[bytes] = []
        for name, value in headers:
            lower = name.lower()
            if lower == b"vary":
                varies.extend(v.strip() for v in value.split(b","))
            elif not lower.startswith(b"access-control-"):
                kept.append((name, value))
        if not varies:  # nearly always: the response had no Vary of its own
            kept.append(_VARY_ORIGIN)
        else:
            if not any(name.lower() == b"origin" for name in varies):
                varies.append(b"Origin")
            kept.append((b"vary", b", ".join(name for name in varies if name)))
        if self.origin is not None:
            kept.append((b"access-control-allow-origin", self.origin.encode("latin-1")))
            if self.credentials:
                kept.append((b"access-control-allow-credentials", b"true"))
            if self.exposed:
                kept.append((b"access-control-expose-headers", self.exposed))
        return kept


_VARY_ORIGIN = (b"vary", b"Origin")

# An answer given at once, before the app: status, the control plane's error message (None: no
# body) and headers.
Answer = tuple[int, str | None, list[tuple[bytes, bytes]]]


class Security(msgspec.Struct, frozen=True):
    """The rules above, for one app. `screen` decides each HTTP request in one pass (it runs
    inside the app's single request layer, emulator/app.py)."""

    hosts: HostPolicy
    token: str | None
    exposed: bytes  # Access-Control-Expose-Headers for the chat APIs

    @classmethod
    def of(
        cls, *, hosts: HostPolicy, token: str | None, exposed_headers: Sequence[str]
    ) -> Security:
        return cls(hosts, token, ", ".join(exposed_headers).encode())

    def screen(self, scope: HTTPScope) -> Answer | Cors:
        """The answer to give at once (a refusal or a preflight's), or the CORS headers the
        app's response gets."""
        if scope["method"] == "OPTIONS" or is_control_path(scope["path"]):
            return self._screen(scope, _headers(scope))
        # A chat API request that is no preflight: only its Origin matters.
        origin = None
        for name, value in scope["headers"]:
            if name.lower() == b"origin":
                origin = value.decode("latin-1")
                break
        return Cors(origin, self.exposed, True)

    def _screen(self, scope: HTTPScope, headers: dict[str, str]) -> Answer | Cors:
        if is_control_path(scope["path"]):
            refusal = _foreign(scope, headers, self.hosts)
            if refusal is None and _is_preflight(scope, headers):  # from this server's origin
                return 204, None, _preflight_headers(headers, credentials=False)
            refusal = refusal or _undeclared(scope, headers, self.token)
            if refusal is not None:
                return refusal
            return Cors(headers.get("origin"), b"", False)
        if _is_preflight(scope, headers):
            return 204, None, _preflight_headers(headers, credentials=True)
        return Cors(headers.get("origin"), self.exposed, True)


Refusal = Answer


def _foreign(scope: HTTPScope, headers: dict[str, str], hosts: HostPolicy) -> Refusal | None:
    """A refusal (status, message, extra headers) for a control-plane request that comes under
    another name (DNS rebinding) or from another origin; None if it does not."""
    bound = _bound(scope)
    host = headers.get("host")
    if host is not None and not hosts.allows(split_host(host)[0], bound):
        shown = host[:100].encode("ascii", "replace").decode()
        return (
            403,
            (
                f"Host '{shown}' does not name this server, so the control plane is closed to it "
                "(a defence against DNS rebinding). Use localhost or 127.0.0.1, or start the "
                "emulator with --allowed-host NAME."
            ),
            [],
        )
    origin = headers.get("origin")
    if origin is not None and not hosts.allows_origin(origin, host or "", bound):
        return 403, "The control plane answers no other origin (cross-origin request refused)", []
    return None


def _undeclared(scope: HTTPScope, headers: dict[str, str], token: str | None) -> Refusal | None:
    """A refusal for a control-plane request without the token, or a state-changing one that
    does not declare itself; None if it may go on."""
    if token is not None and not _console_file(scope) and not _bearer_matches(headers, token):
        return (
            401,
            "This control plane needs Authorization: Bearer <token>",
            [(b"www-authenticate", b'Bearer realm="emulator control plane"')],
        )
    if scope["method"] in STATE_CHANGING and not _declared(headers):
        return (
            403,
            (
                "A state-changing control-plane request needs the header X-Emulator-Client (any "
                "value) or Content-Type: application/json, which a web page cannot send to another "
                "site without asking first (a defence against cross-site requests)."
            ),
            [],
        )
    return None


def _bound(scope: HTTPScope) -> str | None:
    server = scope.get("server")
    return str(server[0]) if server else None


def _console_file(scope: HTTPScope) -> bool:
    """The console's static files (and `/`) load by navigation, which cannot carry a token: the
    console asks for it and sends it with each call. They hold nothing secret."""
    path = normalize_path(scope["path"])
    reading = scope["method"] in ("GET", "HEAD")
    return reading and (path in ("/", CONSOLE_FILES) or path.startswith(CONSOLE_FILES + "/"))


def _bearer_matches(headers: dict[str, str], token: str) -> bool:
    scheme, _, sent = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(sent.strip().encode(), token.encode())


def _declared(headers: dict[str, str]) -> bool:
    """The request says it is not a plain form post: a custom header or a JSON body."""
    if headers.get(CLIENT_HEADER, "").strip():
        return True
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    return media_type == "application/json"


def _is_preflight(scope: HTTPScope, headers: dict[str, str]) -> bool:
    return (
        scope["method"] == "OPTIONS"
        and "origin" in headers
        and "access-control-request-method" in headers
    )


def _preflight_headers(headers: dict[str, str], *, credentials: bool) -> list[tuple[bytes, bytes]]:
    answer = [
        (b"access-control-allow-origin", headers["origin"].encode("latin-1")),
        (b"access-control-allow-methods", API_METHODS.encode()),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
        (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
    ]
    requested = headers.get("access-control-request-headers")
    if requested:
        # With credentials a browser takes no `*`: name the headers it asked for.
        answer.append((b"access-control-allow-headers", requested.encode("latin-1")))
    if credentials:
        answer.append((b"access-control-allow-credentials", b"true"))
    return answer


def answer_messages(answer: Answer) -> tuple[Message, Message]:
    """The start and body messages of an answer: the control plane's error body for its
    message, or no body."""
    status, message, headers = answer
    body = b""
    if message is not None:
        code = "unauthorized" if status == 401 else "forbidden"
        body = json.dumps(
            {"error": {"code": code, "message": message}}, separators=(",", ":")
        ).encode()
        headers = [*headers, (b"content-type", b"application/json")]
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": body, "more_body": False}


def _headers(scope: HTTPScope) -> dict[str, str]:
    """The request's headers by lower-case name (the first of each), as text."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found
