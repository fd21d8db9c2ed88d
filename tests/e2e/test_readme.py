"""The README's examples, run as printed (only the port and a returned id substituted) against
the repository's nodes.yaml in a directory laid out like a fresh clone: each command succeeds
and prints what the README shows. The Quickstart runs whole, curl, Node's fetch and Python's
requests; so does Record and replay: the recorder's banner, a turn through it, the fixture, and
the README's replay node added to nodes.yaml while the server runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from emulator.config.fixtures import parse_fixture
from tests.e2e.server import LISTENING, Server

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]
ROOT = Path(__file__).resolve().parents[2]
SECTIONS = [
    "The agent-slug API",
    "The sentientone API",
    "The widget API",
    "Latency, faults and rate limits",
    "Hot reload",
]
GENERATED = re.compile(r'"(conv_|conv-|trc_)?[a-z0-9]{24,32}"')


def console_blocks(section: str) -> list[tuple[str, list[str]]]:
    """(command, output lines) of each console block in a README section."""
    text = (ROOT / "README.md").read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.splitlines()
        end = next(i for i, line in enumerate(lines) if not line.endswith("\\"))
        found.append(("\n".join(lines[: end + 1]).removeprefix("$ "), lines[end + 1 :]))
    return found


def commands(section: str, language: str = "console") -> list[tuple[str, list[str]]]:
    """Every `$ ` command of a section's console blocks (continuation lines joined as printed),
    with the output lines shown after it; or, for another language, each block's code."""
    text = section_text(section)
    if language != "console":
        return [(code, []) for code in re.findall(rf"```{language}\n(.*?)```", text, re.S)]
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found and found[-1][0].endswith("\\") and not found[-1][1]:
                found[-1] = (found[-1][0] + "\n" + line, [])
            else:
                found[-1][1].append(line)
    return found


def section_text(section: str) -> str:
    return (ROOT / "README.md").read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]


def shows(shown: list[str], actual: list[str]) -> bool:
    """The README's output lines appear in `actual` in order (`...` stands for anything, and a
    line that is only `...` for lines left out)."""
    remaining = iter(actual)
    return all(
        any(like(line, candidate) for candidate in remaining) for line in shown if line != "..."
    )


def on(url: str, text: str) -> str:
    """The README's text with its server at `url` instead of port 8080."""
    port = url.rsplit(":", 1)[1]
    text = text.replace("http://127.0.0.1:8080", url).replace("http://localhost:8080", url)
    return text.replace(".localhost:8080", f".localhost:{port}")  # the subdomain form


def like(shown: str, actual: str) -> bool:
    """`actual` is the README's line, where `...` stands for anything."""
    return re.fullmatch(".*".join(map(re.escape, shown.split("..."))), actual) is not None


def examples(section: str) -> list[tuple[str, str]]:
    """(command, first output line) of each console block in a README section."""
    return [(command, output[0]) for command, output in console_blocks(section)]


def masked(line: str) -> str:
    return GENERATED.sub(lambda m: f'"{m.group(1) or ""}..."', line)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A directory like a fresh clone after `make run`: nodes.yaml, fixtures/ and .venv (the
    environment running these tests, which has the `emulator` command)."""
    if not (Path(sys.prefix) / "bin" / "emulator").exists():
        pytest.skip("the tests do not run in a virtual environment with the emulator command")
    shutil.copy(ROOT / "nodes.yaml", tmp_path / "nodes.yaml")
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    (tmp_path / ".venv").symlink_to(sys.prefix)
    return tmp_path


def bash(command: str, cwd: Path | None = None) -> list[str]:
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=30, cwd=cwd
    )
    assert done.returncode == 0, (command, done.stderr)
    return done.stdout.splitlines()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("readme")
    shutil.copy(ROOT / "nodes.yaml", root / "nodes.yaml")
    shutil.copytree(ROOT / "fixtures", root / "fixtures")  # as in a clone
    with Server(root / "nodes.yaml", "--memory", "--no-reload") as running:
        yield running


@pytest.mark.parametrize("section", SECTIONS)
def test_readme_example_runs(server: Server, section: str) -> None:
    (command, first_line), *_ = examples(section)
    command = command.replace("http://localhost:8080", server.url).replace("curl ", "curl -sS ", 1)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert masked(done.stdout.splitlines()[0]) == first_line


def test_quickstart_runs_as_printed(clone: Path) -> None:
    """Every curl command in the Quickstart, in order, as one shell would run them; the
    `thr_...` a command needs is the threadId the first reply gave."""
    with Server(clone / "nodes.yaml", "--memory", "--no-reload", cwd=clone) as running:
        exports: list[str] = []
        thread = None
        for command, shown in commands("Quickstart"):
            if command == "make run":  # `running` is what it starts, on a free port
                continue
            if command.startswith("export "):
                exports.append(command)
                continue
            if thread is not None:
                command = command.replace("thr_...", thread)
            lines = bash("\n".join([*exports, on(running.url, command)]), cwd=clone)
            assert shows(shown, lines), (command, lines)
            thread = thread or json.loads(lines[0])["threadId"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_quickstart_javascript_and_python_run_as_printed(server: Server, tmp_path: Path) -> None:
    ((javascript, _),) = commands("Quickstart", "javascript")
    ((python, _),) = commands("Quickstart", "python")
    for name, code, run, comment in [
        ("send.mjs", javascript, ["node"], "// "),
        ("send.py", python, [sys.executable], "# "),
    ]:
        (tmp_path / name).write_text(on(server.url, code))
        done = subprocess.run(
            [*run, name], cwd=tmp_path, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        printed = next(
            line for line in code.splitlines() if "print" in line or "console.log" in line
        )
        assert done.stdout == printed.split(comment)[-1] + "\n"


def test_the_chit_examples_run_as_printed(server: Server) -> None:
    """By subdomain (curl resolves *.localhost) and by path."""
    for command, shown in commands("The /chit information sheet"):
        assert bash(on(server.url, command)) == shown or not shown


def test_the_command_line_examples_run_as_printed(clone: Path) -> None:
    for command, shown in commands("The command line"):
        assert bash(command, cwd=clone) == shown


def test_record_and_replay_runs_as_printed(clone: Path) -> None:
    """Record from `make run`'s server as the README says, add the README's replay node to the
    clone's nodes.yaml while that server runs, and replay."""
    (demo, demo_answer), (record, banner), (talk, streamed), (replay, answered) = commands(
        "Record and replay"
    )
    with Server(clone / "nodes.yaml", "--memory", cwd=clone) as running:  # reloads, as make run
        assert shows(demo_answer, bash(on(running.url, demo), cwd=clone))
        assert record.startswith(".venv/bin/emulator record ") and "--port 8081" in record
        with recording(on(running.url, record).replace("--port 8081", "--port 0"), clone) as (
            port,
            output,
        ):
            recorder = f"http://127.0.0.1:{port}"
            expected = [on(running.url, line).replace(":8081", f":{port}") for line in banner]
            deadline = time.monotonic() + 10
            while len(output) < len(expected) and time.monotonic() < deadline:
                time.sleep(0.05)  # the banner's lines after `Listening on`
            assert output[: len(expected)] == expected
            lines = bash(talk.replace("http://127.0.0.1:8081", recorder), cwd=clone)
            assert shows(streamed, lines), lines
        (conversation,) = parse_fixture(
            (clone / "fixtures" / "support-replay.yaml").read_text()
        ).conversations
        assert conversation.turns[0].message == "How do refunds work?"
        node = section_text("Record and replay").split("```yaml\n  support-replay:\n", 1)[1]
        generation = httpx.get(f"{running.url}/_emulator/health").json()["generation"]
        with (clone / "nodes.yaml").open("a") as nodes:
            nodes.write("  support-replay:\n" + node.split("```", 1)[0])
        wait_for_generation(running.url, generation + 1)
        assert shows(answered, bash(on(running.url, replay), cwd=clone))


@contextmanager
def recording(command: str, cwd: Path) -> Iterator[tuple[int, list[str]]]:
    """`emulator record` run by the shell as printed; its port and output lines so far."""
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output: list[str] = []
    assert process.stdout is not None
    drain = threading.Thread(target=lambda: output.extend(map(str.rstrip, process.stdout or [])))
    drain.start()
    try:
        deadline = time.monotonic() + 30
        while not (found := next(filter(None, map(LISTENING.search, list(output))), None)):
            assert process.poll() is None and time.monotonic() < deadline, output
            time.sleep(0.05)
        yield int(found.group(1)), output
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        drain.join(timeout=10)
        process.stdout.close()


def wait_for_generation(url: str, generation: int) -> None:
    deadline = time.monotonic() + 10
    while httpx.get(f"{url}/_emulator/health").json()["generation"] < generation:
        assert time.monotonic() < deadline, "nodes.yaml was not reloaded"
        time.sleep(0.05)
