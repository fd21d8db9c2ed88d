"""Credential checks: API keys, HS256 JWTs, anonymous access and the any-key mode."""

from __future__ import annotations

import warnings

from emulator.config.model import Config, Jwt, Node
from emulator.core.errors import Unauthorized

_JWT_SHAPE = 3  # header.payload.signature


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == _JWT_SHAPE - 1 and all(credential.split("."))


def authenticate(config: Config, node: Node, credential: str | None) -> None:
    """Raise `Unauthorized` unless `credential` opens `node`.

    A key or JWT that belongs to another node never opens this one, even in the any-key mode
    (anonymous nodes included). A JWT needs `exp` unless the node says `require_exp: false`.
    """
    auth = node.auth
    if not credential:
        if auth.anonymous:
            return
        raise Unauthorized("Missing credentials")
    if credential in auth.api_keys:
        return
    if auth.jwt is not None and looks_like_jwt(credential):
        _verify_jwt(node, credential)
        return
    if auth.any_key and not _belongs_to_other_node(config, node, credential):
        return
    raise Unauthorized("Invalid API key")


def _verify_jwt(node: Node, token: str) -> None:
    import jwt  # PyJWT loads on the first token, not at start-up

    settings = node.auth.jwt
    assert settings is not None
    try:
        with warnings.catch_warnings():
            # Dev secrets are short on purpose; PyJWT's key-length advice is noise here.
            warnings.simplefilter("ignore")
            jwt.decode(
                token,
                settings.secret,
                algorithms=["HS256"],  # never "none", never an algorithm the token picks
                audience=settings.audience,
                issuer=settings.issuer,
                options={
                    "verify_aud": settings.audience is not None,
                    "require": ["exp"] if settings.require_exp else [],
                },
            )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Token has expired") from None
    except jwt.ImmatureSignatureError:
        raise Unauthorized("Token is not yet valid") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("Token audience is not accepted by this node") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("Token issuer is not accepted by this node") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"Token is missing the '{exc.claim}' claim") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("Invalid token") from None


def _belongs_to_other_node(config: Config, node: Node, credential: str) -> bool:
    """`credential` is one of another node's keys, or a JWT signed with its secret (expired or
    not, for any audience: it was made for that node all the same)."""
    jwt_shaped = looks_like_jwt(credential)
    for other in config.nodes.values():
        if other.alias == node.alias:
            continue
        if credential in other.auth.api_keys:
            return True
        if jwt_shaped and other.auth.jwt is not None and _signed_with(credential, other.auth.jwt):
            return True
    return False


def _signed_with(token: str, settings: Jwt) -> bool:
    import jwt

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jwt.decode(
                token,
                settings.secret,
                algorithms=["HS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
    except jwt.InvalidTokenError:
        return False
    return True


def owner_of_key(config: Config, credential: str, apis: tuple[str, ...]) -> Node | None:
    """The one node of `apis` whose configured keys include `credential`, if exactly one."""
    owners = [n for n in config.nodes.values() if n.api in apis and credential in n.auth.api_keys]
    return owners[0] if len(owners) == 1 else None
