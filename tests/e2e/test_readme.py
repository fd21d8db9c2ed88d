"""The README's agent-slug, sentientone and widget examples, run against the repository's
nodes.yaml: each command succeeds and prints the first line the README shows."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def examples(section: str) -> list[tuple[str, str]]:
    """(command, first output line) of each console block in a README section."""
    text = (ROOT / "README.md").read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.splitlines()
        end = next(i for i, line in enumerate(lines) if not line.endswith("\\"))
        command = "\n".join(lines[: end + 1]).removeprefix("$ ")
        found.append((command, lines[end + 1]))
    return found


def masked(line: str) -> str:
    return GENERATED.sub(lambda m: f'"{m.group(1) or ""}..."', line)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("readme")
    shutil.copy(ROOT / "nodes.yaml", root / "nodes.yaml")
    with Server(root / "nodes.yaml", "--memory", "--no-reload") as running:
        yield running


@pytest.mark.parametrize("section", SECTIONS)
def test_readme_example_runs(server: Server, section: str) -> None:
    (command, first_line), *_ = examples(section)
    command = command.replace("http://localhost:8080", server.url).replace("curl ", "curl -sS ", 1)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert masked(done.stdout.splitlines()[0]) == first_line
