"""Which Host and Origin values name this server: the defence against DNS rebinding.

A web page can make a browser send requests to 127.0.0.1 under a name of its own choosing (DNS
rebinding: `attacker.example` first resolves to the attacker, then to 127.0.0.1). The browser then
treats the emulator as the attacker's own origin. What gives it away is the Host header, which
still says `attacker.example`. So the control plane answers only Host values that name this
server, as Vite's and webpack-dev-server's host checks do. No Litestar here: plain strings in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

import msgspec

LOCAL_NAMES = ("localhost",)


def split_host(value: str) -> tuple[str, int | None]:
    """A Host header's name (lower case, no brackets, no trailing dot) and port, if any.

    `[::1]:8080` → ("::1", 8080); `Support.Localhost.` → ("support.localhost", None). A port
    that is not a number gives None for it; the name is then still checked.
    """
    value = value.strip()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        name, _, port_text = value.partition(":")
    else:
        name, port_text = value, ""
    port = int(port_text) if port_text.isascii() and port_text.isdigit() else None
    return name.lower().rstrip("."), port


class HostPolicy(msgspec.Struct, frozen=True):
    """The names this server answers to on its control plane.

    `extra` are the `--allowed-host` additions: a name matches itself, and a name with a leading
    dot (`.example.test`) matches that domain and every name under it. The methods' `bound` is
    the address the server listens on (the ASGI scope's `server`).
    """

    extra: tuple[str, ...] = ()

    @classmethod
    def of(cls, allowed: Iterable[str]) -> HostPolicy:
        names = (name.strip().lower().rstrip(".") for name in allowed)
        return cls(tuple(name for name in names if name and name != "."))

    def allows(self, name: str, bound: str | None) -> bool:
        """Whether the host name `name` (from split_host) names this server."""
        if not name:
            return False
        if name in LOCAL_NAMES or name.endswith(".localhost"):
            return True
        if bound is not None and name == bound.lower():
            return True
        if _is_ip(name):
            # An IP address cannot be rebound: a browser that sends it connected to it. Bound to
            # every interface, any of this machine's addresses may arrive; else only loopback.
            return _ip(name).is_loopback or (bound is not None and _is_wildcard(bound))
        return any(_matches(name, entry) for entry in self.extra)

    def allows_origin(self, origin: str, host: str, bound: str | None) -> bool:
        """Whether a request's Origin is this server itself: a name of this server and the port
        the request came to (`host` is its Host header). Every other origin is foreign."""
        try:
            parts = urlsplit(origin)
            origin_port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        default = 443 if parts.scheme == "https" else 80
        port = split_host(host)[1] or 80
        return (origin_port or default) == port and self.allows(parts.hostname, bound)


def _matches(name: str, entry: str) -> bool:
    if entry.startswith("."):
        return name == entry[1:] or name.endswith(entry)
    return name == entry


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(name)


def _is_wildcard(bound: str) -> bool:
    return _is_ip(bound) and _ip(bound).is_unspecified
