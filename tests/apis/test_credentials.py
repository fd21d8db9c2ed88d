"""A credential opens only the node it was made for, and a JWT needs `exp` (issue 12 item 7)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import KEY, TEST_CONFIG, make_jwt


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def chat(client: TestClient[Any], alias: str, token: str) -> Any:
    return client.post(f"/nodes/{alias}/chat", json={"content": "hi"}, headers=bearer(token))


def test_a_jwt_without_exp_is_refused(client: TestClient[Any]) -> None:
    response = chat(client, "support", make_jwt(exp=None))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Token is missing the 'exp' claim"
    assert chat(client, "support", make_jwt()).status_code == 200


def test_a_node_may_accept_jwts_without_exp(make_client: Any) -> None:
    config = TEST_CONFIG.replace(
        "jwt: {secret: dev-secret, audience: support}",
        "jwt: {secret: dev-secret, audience: support, require_exp: false}",
    )
    client = make_client(config)
    assert chat(client, "support", make_jwt(exp=None)).status_code == 200
    assert chat(client, "support", make_jwt(exp=1000)).status_code == 401  # exp is still checked


def test_require_exp_must_be_a_boolean(make_client: Any) -> None:
    from emulator.config.errors import ConfigError
    from emulator.config.loader import parse_config

    broken = TEST_CONFIG.replace("audience: support}", "audience: support, require_exp: maybe}")
    with pytest.raises(ConfigError, match=r"test\.yaml:\d+:\d+: .*require_exp.*true or false"):
        parse_config(broken, "test.yaml")


@pytest.mark.parametrize("alias", ["echo", "anykey"])  # anonymous, and any-key
@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(lambda: KEY, id="its api key"),
        pytest.param(make_jwt, id="its valid jwt"),
        pytest.param(lambda: make_jwt(exp=1000), id="its expired jwt"),
        pytest.param(lambda: make_jwt(aud="elsewhere"), id="its jwt for another audience"),
    ],
)
def test_another_node_s_credential_is_refused(
    client: TestClient[Any], alias: str, credential: Any
) -> None:
    response = chat(client, alias, credential())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("alias", ["echo", "anykey"])
def test_a_credential_of_no_node_still_opens_any_key_nodes(
    client: TestClient[Any], alias: str
) -> None:
    assert chat(client, alias, "dummy-key").status_code == 200
    # JWT-shaped, but signed by no node's secret: just a key like any other.
    assert chat(client, alias, make_jwt(secret="my-frontend-secret")).status_code == 200
    assert client.post(f"/nodes/{alias}/chat", json={"content": "hi"}).status_code == (
        200 if alias == "echo" else 401
    )
