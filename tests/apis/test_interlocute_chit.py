"""interlocute GET /chit through HTTP (seed 001): negotiation, verbosity, overrides, ETags,
auth and errors. Golden bytes are in test_interlocute_chit_golden.py."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.apis.test_chit_facts import contained, without_level
from tests.conftest import KEY, TEST_CONFIG, make_jwt

SECTIONS = ("identity", "status", "invocations", "pricing")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

OVERRIDES = """
version: 1
nodes:
  open:
    api: interlocute
    name: Open
    auth: {anonymous: true}
    chit:
      verbosity: high
      sections:
        status: {enabled: false}
        pricing: {mode: custom, format: text/markdown, body: "# Prices\\n\\n**Free.**\\n"}
        invocations: {mode: custom, body: "POST /chat, that is all."}
  closed:
    api: interlocute
    name: Closed
    auth: {anonymous: true}
    chit: {enabled: false}
"""


def auth() -> dict[str, str]:
    """A fresh dict each time: httpx-sse's connect_sse adds Accept to the dict it is given."""
    return {"Authorization": f"Bearer {KEY}"}


def get(client: TestClient[Any], path: str, **headers: str) -> Any:
    return client.get(path, headers={**auth(), **headers})


# -- content negotiation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("application/json", "application/json"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("text/markdown", "text/markdown; charset=utf-8"),
        ("*/*", "application/json"),
        ("text/*", "text/plain; charset=utf-8"),
        (BROWSER, "application/json"),
        ("text/markdown, */*", "text/markdown; charset=utf-8"),  # named beats wildcard
        ("application/json;q=0.5, text/markdown;q=0.9", "text/markdown; charset=utf-8"),
        ("*/*, application/json;q=0", "text/plain; charset=utf-8"),  # q=0 excludes
        ("text/*;q=0.3, text/markdown;q=0, application/*;q=0.2", "text/plain; charset=utf-8"),
        ("TEXT/Plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("text/html, text/plain;q=0.1", "text/plain; charset=utf-8"),
    ],
)
def test_accept_picks_the_representation(
    client: TestClient[Any], accept: str | None, chosen: str
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    response = get(client, "/chit/identity", **headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == chosen
    assert response.headers["vary"] == "Accept, Origin"  # Origin: CORS answers vary by it


def test_the_three_representations_say_the_same_facts(client: TestClient[Any]) -> None:
    data = get(client, "/chit/identity").json()
    text = get(client, "/chit/identity", Accept="text/plain").text
    markdown = get(client, "/chit/identity", Accept="text/markdown").text
    assert data["name"] == "Support Assistant" and data["model"] == "gpt-4o"
    assert text.startswith("Identity\n========\n")
    assert f"Node ID: {data['nodeId']}\n" in text and "Model: gpt-4o\n" in text
    assert markdown.startswith("# Identity\n\n")
    assert f"- **Node ID:** {data['nodeId']}\n" in markdown


@pytest.mark.parametrize(
    "accept", ["text/html", "application/xml", "text/html, application/xhtml+xml", "*/*;q=0"]
)
def test_html_or_xml_only_is_406_with_the_supported_types(
    client: TestClient[Any], accept: str
) -> None:
    response = get(client, "/chit/identity", Accept=accept)
    assert response.status_code == 406
    assert response.json() == {
        "error": {
            "code": "not_acceptable",
            "message": "None of the accepted media types is available; supported: "
            "application/json, text/plain, text/markdown",
        }
    }


@pytest.mark.parametrize(
    ("accept", "detail"),
    [
        ("json", "'json' is not a media range like type/subtype"),
        ("text/plain;q=2", "q must be a number from 0 to 1 (got '2')"),
        ("text/plain;q=high", "q must be a number from 0 to 1 (got 'high')"),
        ("*/plain", "'*/plain' is not a media range like type/subtype"),
        ("text/plain;level", "'level' is not a parameter like name=value"),
    ],
)
def test_a_malformed_accept_is_400(client: TestClient[Any], accept: str, detail: str) -> None:
    response = get(client, "/chit", Accept=accept)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_request",
        "message": f"Malformed Accept header: {detail}",
    }


# -- verbosity ---------------------------------------------------------------------------------


def test_verbosity_adds_keys_and_never_changes_existing_ones(client: TestClient[Any]) -> None:
    for section in SECTIONS:
        if section == "status":
            continue  # its runtime values may tick between requests; see test_chit_facts.py
        sheets = [
            get(client, f"/chit/{section}?verbosity={level}").json()
            for level in ("low", "standard", "high")
        ]
        for lower, higher in itertools.pairwise(sheets):
            assert contained(without_level(lower), higher), section
            assert len(higher) > len(lower), section


def test_verbosity_defaults_to_the_node_setting(make_client: Callable[..., Any]) -> None:
    client = make_client(OVERRIDES)
    assert client.get("/nodes/open/chit/identity").json()["verbosity"] == "high"
    assert client.get("/nodes/open/chit/identity?verbosity=low").json()["verbosity"] == "low"


@pytest.mark.parametrize("value", ["verbose", "", "HIGH"])
def test_an_unknown_verbosity_is_400_naming_the_allowed_values(
    client: TestClient[Any], value: str
) -> None:
    response = get(client, f"/chit/identity?verbosity={value}")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_request",
        "message": f"verbosity must be one of: low, standard, high (got '{value}')",
    }


# -- sections and overrides --------------------------------------------------------------------


def test_the_overview_composes_every_section(client: TestClient[Any]) -> None:
    overview = get(client, "/chit").json()
    assert list(overview) == ["nodeId", "name", "verbosity", "sections"]
    assert list(overview["sections"]) == list(SECTIONS)
    identity = get(client, "/chit/identity").json()
    assert overview["sections"]["identity"] == identity
    assert overview["sections"]["pricing"] == get(client, "/chit/pricing").json()


def test_identity_has_the_seed_fields(client: TestClient[Any]) -> None:
    identity = get(client, "/chit/identity").json()
    assert list(identity) == [
        "nodeId", "name", "description", "model", "capabilities", "tools", "verbosity",
    ]  # fmt: skip
    assert identity["nodeId"].startswith("nd_")
    assert identity["description"] == "Customer support node for Acme Corp"
    assert identity["capabilities"] == {
        "memory": True, "rag": False, "toolUse": False, "streaming": True, "scheduling": False,
    }  # fmt: skip
    assert identity["tools"] == []


def test_status_counts_the_node_threads(client: TestClient[Any]) -> None:
    before = get(client, "/chit/status").json()
    client.post("/chat", json={"content": "hi"}, headers=auth())
    after = get(client, "/chit/status").json()
    assert before["serving"] is True and before["configGeneration"] == 1
    assert (before["threadCount"], after["threadCount"]) == (0, 1)
    assert list(before) == list(after)


def test_invocations_and_pricing_come_from_config(client: TestClient[Any]) -> None:
    invocations = get(client, "/chit/invocations").json()
    assert [(e["method"], e["path"]) for e in invocations["endpoints"]] == [
        ("POST", "/chat"), ("POST", "/chat/stream"), ("GET", "/chit"),
    ]  # fmt: skip
    assert invocations["auth"] == ["apiKey", "jwt"]
    assert invocations["limits"] == {"maxBodyBytes": 1048576, "rateLimit": None}
    pricing = get(client, "/chit/pricing").json()
    assert pricing["summary"] == "Free in the emulator" and pricing["currency"] is None


def test_a_disabled_section_is_404_and_left_out_of_the_overview(
    make_client: Callable[..., Any],
) -> None:
    client = make_client(OVERRIDES)
    response = client.get("/nodes/open/chit/status")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": "chit section 'status' is disabled for node 'open'",
        }
    }
    assert list(client.get("/nodes/open/chit").json()["sections"]) == [
        "identity", "invocations", "pricing",
    ]  # fmt: skip


def test_a_custom_section_in_json_is_an_envelope(make_client: Callable[..., Any]) -> None:
    client = make_client(OVERRIDES)
    pricing = {
        "section": "pricing",
        "mode": "custom",
        "format": "text/markdown",
        "body": "# Prices\n\n**Free.**\n",
    }
    assert client.get("/nodes/open/chit/pricing").json() == pricing
    assert client.get("/nodes/open/chit").json()["sections"]["pricing"] == pricing
    invocations = client.get("/nodes/open/chit/invocations?verbosity=low").json()
    assert invocations["format"] == "text/plain"  # the default format of a custom body


@pytest.mark.parametrize("accept", ["text/plain", "text/markdown"])
def test_a_custom_section_in_text_is_the_body_as_written(
    make_client: Callable[..., Any], accept: str
) -> None:
    client = make_client(OVERRIDES)
    response = client.get("/nodes/open/chit/pricing", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    assert response.text == "# Prices\n\n**Free.**\n"
    overview = client.get("/nodes/open/chit", headers={"Accept": accept}).text
    assert "**Free.**\n" in overview and "POST /chat, that is all.\n" in overview


def test_chit_disabled_is_404_everywhere(make_client: Callable[..., Any]) -> None:
    client = make_client(OVERRIDES)
    for path in ["/chit", *(f"/chit/{s}" for s in SECTIONS), "/chit/nope"]:
        response = client.get("/nodes/closed" + path)
        assert response.status_code == 404
        assert response.json() == {
            "error": {"code": "not_found", "message": "chit is not enabled for node 'closed'"}
        }


def test_an_unknown_section_is_404(client: TestClient[Any]) -> None:
    response = get(client, "/chit/billing")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Unknown chit section 'billing'; sections: identity, status, invocations, "
        "pricing",
    }


def test_an_unknown_node_is_404(client: TestClient[Any]) -> None:
    response = client.get("/nodes/ghost/chit/identity", headers=auth())
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "Node 'ghost' not found"}


# -- auth, exactly as /chat --------------------------------------------------------------------


def test_missing_credentials_are_401(client: TestClient[Any]) -> None:
    response = client.get("/chit/identity")
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "unauthorized", "message": "Missing credentials"}


def test_a_wrong_key_is_401(client: TestClient[Any]) -> None:
    response = client.get("/chit", headers={"Authorization": "Bearer sk-wrong"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_jwt_opens_chit(client: TestClient[Any]) -> None:
    token = make_jwt()
    response = client.get("/chit/identity", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_anonymous_and_any_key_nodes(make_client: Callable[..., Any]) -> None:
    client = make_client(TEST_CONFIG)
    assert client.get("/nodes/echo/chit/identity").status_code == 200
    assert client.get("/nodes/anykey/chit/identity").status_code == 401
    dummy = {"Authorization": "Bearer anything"}
    assert client.get("/nodes/anykey/chit/identity", headers=dummy).status_code == 200
    invocations = client.get("/nodes/anykey/chit/invocations", headers=dummy).json()
    assert invocations["auth"] == ["anyKey"]


# -- ETags -------------------------------------------------------------------------------------


def test_each_representation_has_a_strong_etag(client: TestClient[Any]) -> None:
    types = ("application/json", "text/plain", "text/markdown")
    tags = {get(client, "/chit/identity", Accept=t).headers["etag"] for t in types}
    assert len(tags) == 3
    assert all(tag.startswith('"') and tag.endswith('"') for tag in tags)
    again = get(client, "/chit/identity", Accept="text/plain").headers["etag"]
    assert again in tags


@pytest.mark.parametrize(
    "if_none_match",
    ["{tag}", '"other", {tag}', "W/{tag}", "*"],
)
def test_if_none_match_is_304_without_a_body(client: TestClient[Any], if_none_match: str) -> None:
    tag = get(client, "/chit/invocations").headers["etag"]
    response = get(client, "/chit/invocations", **{"If-None-Match": if_none_match.format(tag=tag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == tag
    assert response.headers["vary"] == "Accept, Origin"  # Origin: CORS answers vary by it


@pytest.mark.parametrize("accept", ["application/json", "text/markdown"])
def test_head_answers_the_headers_of_get_without_a_body(
    client: TestClient[Any], accept: str
) -> None:
    full = get(client, "/chit/identity", Accept=accept)
    head = client.head("/chit/identity", headers={**auth(), "Accept": accept})
    assert (head.status_code, head.content) == (200, b"")
    names = ("etag", "vary", "cache-control", "content-type", "content-length")
    assert [head.headers[n] for n in names] == [full.headers[n] for n in names]
    assert full.headers["cache-control"] == "no-cache"  # keep it, but revalidate by ETag
    tagged = {**auth(), "If-None-Match": full.headers["etag"], "Accept": accept}
    assert client.head("/chit/identity", headers=tagged).status_code == 304
    assert client.head("/chit/identity").status_code == 401
    assert client.head("/chit/nope", headers=auth()).status_code == 404
    assert client.head("/chat", headers=auth()).status_code == 405


def test_a_stale_etag_gets_the_body(client: TestClient[Any]) -> None:
    response = get(client, "/chit/invocations", **{"If-None-Match": '"stale"'})
    assert response.status_code == 200 and response.json()["endpoints"]


def test_the_status_etag_follows_its_values(client: TestClient[Any]) -> None:
    tag = get(client, "/chit/status?verbosity=low").headers["etag"]
    client.post("/chat", json={"content": "hi"}, headers=auth())
    response = get(client, "/chit/status", **{"If-None-Match": tag})
    assert response.status_code == 200 and response.headers["etag"] != tag
