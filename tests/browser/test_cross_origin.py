"""A real Chromium page on another origin cannot reset, reconfigure or read the control plane,
and can still chat, with credentials included (issue 12 item 1, issue 9 item 6).

The attacker's page is served by a second server on another port of 127.0.0.1, which is another
origin to the browser. A DNS-rebinding page (a name of the attacker's that resolves to
127.0.0.1, so the emulator looks same-origin to the browser) is played with Chromium's
`--host-resolver-rules`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.server import Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

KEY = "sk-support-123"
REPLY = "We are open 9 to 5, Monday to Friday."
CONFIG_OF_THE_ATTACKER = "version: 1\nnodes:\n  evil: {api: interlocute, name: Evil, model: echo}\n"

ATTACKS = """
async (emulator) => {
  async function attempt(path, init) {
    try {
      const response = await fetch(emulator + path, init);
      return {status: response.status, body: await response.text()};
    } catch (error) {
      return {error: String(error)};
    }
  }
  const config = CONFIG;
  return {
    resetTextPlain: await attempt("/_emulator/reset", {method: "POST", body: "x",
      headers: {"Content-Type": "text/plain"}}),
    resetNoCors: await attempt("/_emulator/reset", {method: "POST", body: "x", mode: "no-cors"}),
    resetJson: await attempt("/_emulator/reset", {method: "POST", body: "{}",
      headers: {"Content-Type": "application/json"}}),
    resetDeclared: await attempt("/_emulator/reset", {method: "POST",
      headers: {"X-Emulator-Client": "attacker"}}),
    configTextPlain: await attempt("/_emulator/config", {method: "PUT", body: config,
      headers: {"Content-Type": "text/plain"}}),
    configJson: await attempt("/_emulator/config", {method: "PUT", body: config,
      headers: {"Content-Type": "application/json"}}),
    reloadNoCors: await attempt("/_emulator/reload", {method: "POST", mode: "no-cors"}),
    readThreads: await attempt("/_emulator/threads", {}),
    readThreadsWithCredentials: await attempt("/_emulator/threads", {credentials: "include"}),
    readSchema: await attempt("/_emulator/schema/openapi.json", {}),
  };
}
""".replace("CONFIG", json.dumps(CONFIG_OF_THE_ATTACKER))

CHAT = """
async ([emulator, key]) => {
  const response = await fetch(emulator + "/nodes/support/chat", {
    method: "POST",
    credentials: "include",
    headers: {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    body: JSON.stringify({content: "what are your hours?"}),
  });
  return {
    status: response.status,
    body: await response.json(),
    requestId: response.headers.get("X-Request-Id"),
  };
}
"""

FORMS = """
<!doctype html>
<title>Not the emulator</title>
<iframe name="sink"></iframe>
<form id="reset" method="POST" action="{emulator}/_emulator/reset" target="sink">
  <input name="a" value="b">
</form>
<form id="reload" method="POST" action="{emulator}/_emulator/reload" target="sink"
      enctype="text/plain">
  <input name="a" value="b">
</form>
"""


class _Page(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def attacker_site(emulator_server: Server) -> Iterator[str]:
    """Another origin: a server on another port of 127.0.0.1, serving the attacker's page."""
    handler = type("Page", (_Page,), {"html": FORMS.format(emulator=emulator_server.url).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def made_thread(server: Server) -> tuple[str, int]:
    """A stored thread to be wiped, and the config generation to be replaced."""
    sent = httpx.post(
        f"{server.url}/nodes/support/chat",
        json={"content": "hours"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    generation = httpx.get(f"{server.url}/_emulator/health").json()["generation"]
    return sent.json()["threadId"], generation


def assert_untouched(server: Server, thread_id: str, generation: int) -> None:
    assert httpx.get(f"{server.url}/_emulator/threads/{thread_id}").status_code == 200
    assert httpx.get(f"{server.url}/_emulator/health").json()["generation"] == generation


def test_another_origin_cannot_reset_reconfigure_or_read_but_can_chat(
    page: Page, emulator_server: Server, attacker_site: str
) -> None:
    thread_id, generation = made_thread(emulator_server)
    reached: list[tuple[str, str, int]] = []
    page.on(
        "response",
        lambda r: (
            reached.append((r.request.method, r.url, r.status)) if "/_emulator" in r.url else None
        ),
    )
    page.goto(attacker_site + "/")

    # Forms: the browser sends them without asking; the emulator refuses them.
    for form, path in (("reset", "/_emulator/reset"), ("reload", "/_emulator/reload")):
        with page.expect_response(lambda r, path=path: r.url.endswith(path)) as answer:
            page.evaluate(f"document.getElementById('{form}').submit()")
        assert answer.value.status == 403

    results = page.evaluate(ATTACKS, emulator_server.url)
    for name, result in results.items():
        if name.endswith("NoCors"):
            # An opaque answer: the page learns nothing, and the emulator refused it (below).
            assert result == {"status": 0, "body": ""}, name
        else:
            assert "error" in result and "TypeError" in result["error"], (name, result)
    # Nothing that reached the control plane was granted; preflights never led to the request.
    assert reached and all(status == 403 for _, _, status in reached), reached
    assert thread_id not in str(results)
    assert_untouched(emulator_server, thread_id, generation)

    chat = page.evaluate(CHAT, [emulator_server.url, KEY])
    assert chat["status"] == 200
    assert chat["body"]["content"] == REPLY
    assert chat["requestId"]  # an exposed header is readable cross-origin


@pytest.fixture
def rebinding_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium resolving `rebound.test` to 127.0.0.1, as a rebinding DNS server would."""
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP rebound.test 127.0.0.1"],
        headless=True,
    )
    try:
        yield browser
    finally:
        browser.close()


REBOUND = """
async () => {
  async function attempt(path, init) {
    const response = await fetch(path, init);
    return {status: response.status, body: await response.text()};
  }
  const declared = {"X-Emulator-Client": "attacker", "Content-Type": "application/json"};
  return {
    threads: await attempt("/_emulator/threads", {}),
    nodes: await attempt("/_emulator/nodes", {}),
    reset: await attempt("/_emulator/reset", {method: "POST", headers: declared, body: "{}"}),
    config: await attempt("/_emulator/config", {method: "PUT", headers: declared, body: "x"}),
  };
}
"""


def test_a_rebound_name_reaches_nothing(
    rebinding_browser: Browser, emulator_server: Server
) -> None:
    thread_id, generation = made_thread(emulator_server)
    origin = f"http://rebound.test:{emulator_server.port}"
    page = rebinding_browser.new_page()
    # The attacker's page, now in the rebound origin. (Loaded from 127.0.0.1 itself, so that
    # Chromium's own Private Network Access checks stay out of the way: the emulator is what
    # is tested. The page's content does not matter, only its origin.)
    page.goto(origin + "/_emulator/health")
    # Same-origin to the browser now: it sends everything, and reads every answer.
    results = page.evaluate(REBOUND)
    for name, result in results.items():
        assert result["status"] == 403, (name, result)
        assert "rebound.test" not in result["body"] or "--allowed-host" in result["body"]
    assert thread_id not in str(results)
    assert_untouched(emulator_server, thread_id, generation)
