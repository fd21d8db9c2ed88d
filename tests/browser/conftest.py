"""Real-browser tests of the web console: Debian's Chromium driven by Playwright for Python.

One `emulator serve` process and one browser serve the whole session. Every page runs with all
other origins blocked: a request that leaves the emulator's origin fails the test that made it.
Without Chromium (or Playwright) these tests are skipped, and the run's summary says so and why.
In CI (`CI` set) a missing browser is an error instead: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.server import Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Route

CHROMIUM = Path(os.environ.get("EMULATOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "test-artifacts" / "screens"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}

CONFIG = """\
version: 1
nodes:
  support:
    api: interlocute
    name: Support Assistant
    description: Customer support node for Acme Corp
    model:
      name: gpt-4o
      kind: scripted
      rules:
        - when: {contains: hours}
          reply: We are open 9 to 5, Monday to Friday.
      fallback: echo
    auth:
      api_keys: [sk-support-123]
    faults:
      - when: {equals: simulate outage}
        status: 503
        retry_after: 5
      - when: {equals: break the stream}
        stream_error_after: 3
  slow:
    api: interlocute
    name: Slow Echo
    description: Echoes at ten tokens a second
    model: {kind: echo}
    auth: {anonymous: true}
    latency: {first_token_ms: 0, tokens_per_second: 10}
  limited:
    api: interlocute
    name: Limited
    model: {kind: echo}
    auth: {api_keys: [sk-limited]}
    rate_limit: {requests: 1, per_seconds: 600}
  helpdesk:
    api: agent-slug
    name: Customer Support
    model:
      name: gpt-4
      rules:
        - when: {contains: password}
          reply: Use 'Forgot password' on the sign-in page.
      fallback: "Thanks, a member of our team will get back to you."
    auth:
      api_keys: [sk-slug-123]
  researcher:
    api: sentientone
    name: Research Assistant
    model:
      name: research-1
      rules:
        - when: {contains: warranty}
          reply: All devices carry a two-year warranty.
          sources: [doc-warranty]
      fallback: lorem
    auth:
      api_keys: [sk-sentient-123]
    knowledge:
      - id: doc-warranty
        title: Warranty terms
        text: All devices carry a two-year warranty covering manufacturing defects.
  widget:
    api: widget
    name: Website Widget
    model: lorem
    auth:
      api_keys: [wk-widget-123]
"""


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed; pip install -e '.[test]'"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} not found; apt-get install -y chromium"
    return None


MISSING = _missing()
_skipped: list[str] = []
# Assertions wait for what they expect; a loaded 2-core CI machine can take seconds to render.
EXPECT_TIMEOUT_MS = 15_000
if MISSING is None:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

_HERE = Path(__file__).parent
_NO_PLAYWRIGHT = MISSING is not None and MISSING.startswith("Playwright")
# Without Playwright the test modules cannot even be imported: leave them out, and count them.
collect_ignore_glob = ["test_*.py"] if _NO_PLAYWRIGHT else []
if _NO_PLAYWRIGHT:
    _skipped.extend(str(path.relative_to(ROOT)) for path in sorted(_HERE.glob("test_*.py")))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MISSING is None:
        return
    if _NO_PLAYWRIGHT and os.environ.get("CI"):
        pytest.exit(f"browser tests cannot run in CI: {MISSING}", returncode=1)
    here = Path(__file__).parent
    browser_items = [item for item in items if here in Path(str(item.path)).parents]
    if not browser_items:
        return
    if os.environ.get("CI"):
        pytest.exit(f"browser tests cannot run in CI: {MISSING}", returncode=1)
    reason = f"browser tests skipped: {MISSING}"
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=reason))
    _skipped.extend(item.nodeid for item in browser_items)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say why the browser tests did not run, in a banner and in the final summary line."""
    if _skipped:
        terminalreporter.write_sep("=", f"browser tests skipped: {MISSING}", yellow=True)
        # An extra stats key is counted in the closing line: "..., 14 browser tests skipped (why)".
        what = "browser test files" if _NO_PLAYWRIGHT else "browser tests"
        key = f"{what} skipped ({MISSING})"
        # Report-like objects: other plugins (hypothesis) read every stats entry's attributes.
        entries = [SimpleNamespace(nodeid=nodeid, when="call") for nodeid in _skipped]
        terminalreporter.stats.setdefault(key, []).extend(entries)


class GuardedServer(Server):
    """A server started with `--control-token`: its health check needs the token too."""

    def __init__(self, config: Path, token: str, *args: str) -> None:
        super().__init__(config, "--control-token", token, *args)
        self.token = token

    def _wait_healthy(self, deadline: float) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/_emulator/health", headers=auth).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise TimeoutError("server never became healthy")


@contextmanager
def serve(
    tmp_path_factory: pytest.TempPathFactory, *, control_token: str | None = None
) -> Iterator[Server]:
    """A real `emulator serve` of CONFIG on a free port, stopped afterwards."""
    folder = tmp_path_factory.mktemp("console")
    config = folder / "nodes.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    args = ("--memory", "--seed", "7")
    server = (
        GuardedServer(config, control_token, *args) if control_token else Server(config, *args)
    ).start()
    try:
        yield server
    finally:
        server.stop()


# Package scope, not session: Playwright's sync API keeps an event loop running in this thread
# until it stops, and the tests after this package call asyncio.run().
@pytest.fixture(scope="package")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Console:
    """A page on the console, with the requests it tried to send elsewhere."""

    page: Page
    server: Server
    foreign: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # origins besides the server's

    def url(self, hash_: str = "") -> str:
        return f"{self.server.url}/_emulator/ui/{hash_}"

    def open(self, hash_: str = "") -> Page:
        self.page.goto(self.url(hash_))
        return self.page

    def screenshot(self, name: str) -> None:
        """Both sizes of the current page, under test-artifacts/screens/ (not committed)."""
        SCREENS.mkdir(parents=True, exist_ok=True)
        original = self.page.viewport_size
        for label, (width, height) in SIZES.items():
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.wait_for_timeout(50)
            self.page.screenshot(path=str(SCREENS / f"{name}-{label}.png"))
        if original:
            self.page.set_viewport_size(original)


@pytest.fixture
def console(browser: Browser, emulator_server: Server) -> Iterator[Console]:
    width, height = SIZES["desktop"]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    result = Console(context.new_page(), emulator_server)

    def guard(route: Route) -> None:
        url = route.request.url
        origins = [emulator_server.url, *result.allowed]
        if url.startswith(("data:", "blob:")) or any(
            url == origin or url.startswith(origin + "/") for origin in origins
        ):
            route.continue_()
        else:
            result.foreign.append(url)
            route.abort()

    context.route("**/*", guard)
    errors: list[str] = []
    result.page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield result
    finally:
        context.close()
    assert not result.foreign, f"the console tried to leave its origin: {result.foreign}"
    assert not errors, f"uncaught errors in the page: {errors}"
