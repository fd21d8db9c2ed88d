"""The README's examples, run against the repository's nodes.yaml: each command succeeds and
prints the first line the README shows. Record and replay runs whole: the recorder's banner,
a turn through it, the fixture, and a replay server built from the README's node."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.config.fixtures import parse_fixture
from tests.e2e.server import Server

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


def like(shown: str, actual: str) -> bool:
    """`actual` is the README's line, where `...` stands for anything."""
    return re.fullmatch(".*".join(map(re.escape, shown.split("..."))), actual) is not None


def examples(section: str) -> list[tuple[str, str]]:
    """(command, first output line) of each console block in a README section."""
    return [(command, output[0]) for command, output in console_blocks(section)]


def masked(line: str) -> str:
    return GENERATED.sub(lambda m: f'"{m.group(1) or ""}..."', line)


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


def test_readme_record_and_replay_example(server: Server, tmp_path: Path) -> None:
    """Record from the demo as the README says, then replay it with the README's node."""
    blocks = console_blocks("Record and replay")
    (demo, demo_answer), (record, banner), (talk, streamed), (replay, answered) = blocks
    command = demo.replace("http://localhost:8080", server.url).replace("curl ", "curl -sS ", 1)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert masked(done.stdout.splitlines()[0]) == demo_answer[0]
    command = shlex.split(record.replace("http://localhost:8080", server.url))
    port = command.index("--port")
    del command[port : port + 2]  # the harness picks a free one
    assert command[:2] == ["emulator", "record"]
    with Server(None, *command[2:], cwd=tmp_path, command="record") as recorder:
        expected = [
            line.replace("http://localhost:8080", server.url).replace(":8081", f":{recorder.port}")
            for line in banner
        ]
        assert recorder.text.splitlines()[: len(expected)] == expected
        done = subprocess.run(
            ["bash", "-c", talk.replace("http://localhost:8081", recorder.url)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert like(streamed[0], lines[0]) and like(streamed[1], lines[1]), done.stdout
    (conversation,) = parse_fixture(
        (tmp_path / "fixtures" / "support.yaml").read_text()
    ).conversations
    assert conversation.turns[0].message == "How do refunds work?"
    node = (ROOT / "README.md").read_text().split("  support-replay:\n", 1)[1].split("```", 1)[0]
    (tmp_path / "nodes.yaml").write_text(f"version: 1\nnodes:\n  support-replay:\n{node}")
    with Server(tmp_path / "nodes.yaml", "--memory", "--no-reload") as replaying:
        command = replay.replace("http://localhost:8080", replaying.url).replace(
            "curl ", "curl -sS ", 1
        )
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert like(answered[0], done.stdout.splitlines()[0]), done.stdout
