"""Hot reload against a real `emulator serve` (reload on): edit nodes.yaml on disk, watch the
server follow over HTTP, and see it keep the last good config through every kind of broken save."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from tests.conftest import CONTROL
from tests.e2e.server import Server

pytestmark = pytest.mark.subprocess

TIMEOUT = 5.0  # seconds a reload may take before a test fails; reloads take ~50 ms

BASE = """\
version: 1
nodes:
  support:
    api: interlocute
    name: Support
    model: {kind: echo, template: "v1 {message}"}
    auth: {anonymous: true}
  slow:
    api: interlocute
    name: Slow
    model: {kind: echo, template: "slow {message}"}
    auth: {anonymous: true}
    latency: {tokens_per_second: 40}
  faq:
    api: interlocute
    name: FAQ
    model:
      kind: scripted
      rules:
        - when: {regex: "ord(er)"}
          reply: Orders ship today.
      fallback: echo
    auth: {anonymous: true}
"""


def with_template(template: str) -> str:
    return BASE.replace('"v1 {message}"', f'"{template}"')


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reload")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[Server]:
    config = workdir / "nodes.yaml"
    config.write_text(BASE)
    with Server(config, "--memory") as running:
        yield running


@pytest.fixture
def config(server: Server, workdir: Path) -> Path:
    """The served nodes.yaml, back to BASE and healthy before each test."""
    path = workdir / "nodes.yaml"
    if path.is_dir():
        shutil.rmtree(path)
    if not path.is_file() or path.read_text() != BASE:
        path.write_text(BASE)
    wait_until(server, lambda h: h["status"] == "ok" and reply(server, "x") == "v1 x")
    return path


def health(server: Server) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{server.url}/_emulator/health", timeout=5).json()
    return body


def wait_until(server: Server, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll health until `done(health)` holds; fail after TIMEOUT (no fixed sleeps)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        current = health(server)
        if done(current):
            return health(server)  # `done` may look further (a reply) than this snapshot
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; health is {current}\n{server.text[-3000:]}")
        time.sleep(0.01)


def chat(server: Server, content: str, node: str = "support", **extra: Any) -> httpx.Response:
    return httpx.post(
        f"{server.url}/nodes/{node}/chat", json={"content": content, **extra}, timeout=5
    )


def reply(server: Server, content: str, node: str = "support") -> str | None:
    response = chat(server, content, node)
    return response.json()["content"] if response.status_code == 200 else None


def replace_atomically(path: Path, text: str) -> None:
    """How many editors save: write a temporary file beside it, then rename over it."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def test_edit_applies_quickly_logs_one_line_and_bumps_generation(
    server: Server, config: Path
) -> None:
    before = health(server)["generation"]
    config.write_text(with_template("v2 {message}"))
    after = wait_until(server, lambda h: h["generation"] > before)
    assert after["generation"] == before + 1
    assert after["status"] == "ok" and after["config"]["error"] is None
    response = chat(server, "hi")
    assert response.json()["content"] == "v2 hi"
    assert response.headers["x-emulator-generation"] == str(before + 1)
    lines = [line for line in server.output if f"(generation {before + 1})" in line]
    assert len(lines) == 1 and "changed support" in lines[0]


@pytest.mark.parametrize("how", ["rename", "sed -i", "delete and recreate"])
def test_every_way_of_saving_is_seen(server: Server, config: Path, how: str) -> None:
    if how == "sed -i":
        if shutil.which("sed") is None:
            pytest.skip("sed is not installed")
        subprocess.run(["sed", "-i", "s/v1 {message}/v3 {message}/", str(config)], check=True)
    elif how == "rename":
        replace_atomically(config, with_template("v3 {message}"))
    else:
        config.unlink()
        config.write_text(with_template("v3 {message}"))
    wait_until(server, lambda h: h["status"] == "ok" and reply(server, "x") == "v3 x")


def test_nodes_added_removed_and_threads_survive(server: Server, config: Path) -> None:
    first = chat(server, "remember me").json()
    thread = first["threadId"]
    before = health(server)["generation"]
    without_support = BASE.replace("  support:", "  helper:")
    config.write_text(without_support)
    wait_until(server, lambda h: h["generation"] > before)
    assert chat(server, "hi").status_code == 404
    assert reply(server, "hi", node="helper") == "v1 hi"
    stored = httpx.get(f"{server.url}/_emulator/threads/{thread}").json()
    assert [m["content"] for m in stored["messages"]] == ["remember me", "v1 remember me"]
    assert any("added helper; removed support" in line for line in server.output)

    config.write_text(BASE)
    wait_until(server, lambda h: h["generation"] > before + 1)
    again = chat(server, "still here?", threadId=thread)
    assert again.status_code == 200 and again.json()["threadId"] == thread
    stored = httpx.get(f"{server.url}/_emulator/threads/{thread}").json()
    assert len(stored["messages"]) == 4


def replace_by_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


GOOD_REGEX = '{regex: "ord(er)"}'
BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated YAML": (
        lambda p: p.write_text(BASE[: BASE.index(GOOD_REGEX) + 12]),
        "invalid YAML",
    ),
    "tab-indented": (
        lambda p: p.write_text(BASE.replace("  support:", "\tsupport:")),
        "nodes.yaml:3:1: invalid YAML: a tab character",
    ),
    "duplicate alias": (
        lambda p: p.write_text(BASE + "  support:\n    api: widget\n"),
        "duplicate key 'support'",
    ),
    "unknown api": (
        lambda p: p.write_text(BASE.replace("api: interlocute", "api: openai", 1)),
        "nodes.yaml:4:10: api: expected one of",
    ),
    "invalid regex": (
        lambda p: p.write_text(BASE.replace(GOOD_REGEX, '{regex: "ord(er"}')),
        "regex: invalid regular expression",
    ),
    "empty file": (lambda p: p.write_text(""), "nodes.yaml:1:1: the file is empty"),
    "deleted": (lambda p: p.unlink(), "does not exist"),
    "replaced by a directory": (lambda p: replace_by_directory(p), "is a directory"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_save_keeps_the_last_good_config(server: Server, config: Path, case: str) -> None:
    config.write_text(with_template("good {message}"))
    good = wait_until(server, lambda h: h["status"] == "ok" and reply(server, "x") == "good x")
    breaks, expected = BROKEN[case]
    seen = len(server.output)
    breaks(config)
    bad = wait_until(server, lambda h: h["status"] == "degraded")
    error = bad["config"]["error"]
    assert expected in error
    if case not in ("deleted", "replaced by a directory"):
        assert re.search(r"nodes\.yaml:\d+:\d+: ", error), error
    assert bad["generation"] == good["generation"]
    assert reply(server, "x") == "good x"  # nothing half-applied
    forced = httpx.post(f"{server.url}/_emulator/reload", headers=CONTROL).json()
    assert forced["applied"] is False and forced["error"] == error
    logged = [line for line in server.output[seen:] if expected in line]
    assert len(logged) == 1, logged  # the same error again is not logged again

    if config.is_dir():
        config.rmdir()
    config.write_text(with_template("fixed {message}"))
    fixed = wait_until(server, lambda h: h["status"] == "ok")
    assert fixed["generation"] == good["generation"] + 1
    assert reply(server, "x") == "fixed x"


def test_a_burst_of_saves_settles_on_the_last(server: Server, config: Path) -> None:
    started = time.monotonic()
    for i in range(50):
        config.write_text(with_template(f"burst{i} {{message}}"))
        time.sleep(max(0.0, started + (i + 1) * 0.018 - time.monotonic()))
    assert time.monotonic() - started < 1.5
    wait_until(server, lambda h: h["status"] == "ok" and reply(server, "x") == "burst49 x")
    assert server.process is not None and server.process.poll() is None


def test_an_open_stream_finishes_on_the_config_it_started_with(
    server: Server, config: Path
) -> None:
    message = " ".join(f"w{i}" for i in range(20))  # 40 tokens at 40 per second: about 1 s
    before = health(server)["generation"]
    with (
        httpx.Client(timeout=10) as client,
        connect_sse(
            client, "POST", f"{server.url}/nodes/slow/chat/stream", json={"content": message}
        ) as source,
    ):
        events = source.iter_sse()
        assert next(events).event == "start"
        config.write_text(BASE.replace('"slow {message}"', '"changed {message}"'))
        wait_until(server, lambda h: h["generation"] > before)
        rest = list(events)
    tokens = "".join(e.json()["content"] for e in rest if e.event == "token")
    done = [e.json() for e in rest if e.event == "done"]
    assert done and done[0]["content"] == f"slow {message}"
    assert tokens == f"slow {message}"
    assert reply(server, "x", node="slow") == "changed x"


def test_a_symlinked_config_reloads_when_its_target_is_edited(tmp_path: Path) -> None:
    """nodes.yaml as a link into a shared directory: saving the shared file is seen."""
    shared, project = tmp_path / "shared", tmp_path / "project"
    shared.mkdir()
    project.mkdir()
    target = shared / "team-nodes.yaml"
    target.write_text(BASE)
    (project / "nodes.yaml").symlink_to(target)
    with Server(project / "nodes.yaml", "--memory") as running:
        assert reply(running, "x") == "v1 x"
        replace_atomically(target, with_template("shared {message}"))
        wait_until(running, lambda h: h["generation"] == 2)
        assert reply(running, "x") == "shared x"
