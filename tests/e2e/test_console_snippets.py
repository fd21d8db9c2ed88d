"""Every client snippet of every demo node, as `GET /_emulator/nodes/{alias}/snippets` gives it,
run as a user would paste it (bash + curl, Node, Python + requests) against a real server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.subprocess

RUNNERS = {"shell": "curl", "javascript": "node", "python": None}
MARK = "=== snippet done ==="


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("demo")  # no nodes.yaml here: the bundled demo is served
    with Server(None, "--data", str(root / "data"), "--no-reload", cwd=root) as running:
        yield running


def program(language: str, codes: list[str]) -> str:
    """The snippets one after the other in one process (interpreter start-up dominates), each
    unchanged in its own scope, each followed by a marker line."""
    if language == "shell":
        return "set -e\n" + "".join(
            f"{c} -sS --fail-with-body\necho\necho '{MARK}'\n" for c in codes
        )
    if language == "javascript":
        return "".join(f"{{\n{c}\n}}\nconsole.log('\\n{MARK}');\n" for c in codes)
    return "".join(f"exec({c!r}, {{}})\nprint('\\n{MARK}')\n" for c in codes)


def run(language: str, source: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    script = workdir / {"shell": "s.sh", "javascript": "s.mjs", "python": "s.py"}[language]
    script.write_text(source)  # .mjs: top-level await needs an ES module
    command = {"shell": "bash", "javascript": "node", "python": sys.executable}[language]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.run(
        [command, str(script)], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize("language", RUNNERS)
def test_every_snippet_of_every_demo_node_runs(demo: Server, language: str, tmp_path: Path) -> None:
    tool = RUNNERS[language]
    if tool is not None and shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    with httpx.Client(base_url=demo.url, timeout=10) as client:
        client.post("/_emulator/reset", headers={"X-Emulator-Client": "pytest"})
        cases: list[tuple[str, str]] = []
        for node in client.get("/_emulator/nodes").json()["nodes"]:
            alias = node["alias"]
            assert node["urls"][0].startswith(f"{demo.url}/nodes/{alias}/")
            listed = client.get(f"/_emulator/nodes/{alias}/snippets").json()["snippets"]
            mine = [s["code"] for s in listed if s["language"] == language]
            assert mine, f"{alias} has no {language} snippet"
            for code in mine:
                assert f"{demo.url}/nodes/{alias}/" in code
            cases += [(alias, code) for code in mine]

        done = run(language, program(language, [code for _, code in cases]), tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        outputs = done.stdout.split(MARK)[:-1]
        assert len(outputs) == len(cases)
        assert all(output.strip() for output in outputs)  # each printed its reply
        # Each snippet made one request to its own node, and it succeeded.
        entries = client.get("/_emulator/journal").json()["entries"]
        assert [(e["node"], e["status"]) for e in entries] == [(a, 200) for a, _ in cases]
