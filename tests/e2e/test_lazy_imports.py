"""Serving imports only what serving needs: Faker, PyJWT, httpx, the recorder, the regex module,
difflib (for "did you mean" hints) and the control plane's routes load on use, and no WebSocket
library loads at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from emulator.app import build_app
from emulator.cli import main  # noqa: F401  (what `emulator serve` imports)
from emulator.config.loader import parse_config
from emulator.core.engine import Engine
from emulator.core.store import TinyStore
from emulator.server import build_server

config = parse_config('''
version: 1
nodes:
  plain: {api: interlocute, model: {kind: echo, template: "You said: {message}"}}
''')
build_app(Engine(config, TinyStore.memory()))
build_server(config, data=None).config.load()  # what uvicorn does as it starts
heavy = ("faker", "jwt", "httpx", "emulator.record", "regex", "websockets", "wsproto", "difflib",
         "swagger_ui_bundle")
# the control plane's app is built on its first request
later = ("emulator.record", "emulator.control.routes", "emulator.control.apidocs",
         "emulator.control.snippets", "emulator.control.export")
print(sorted({name for name in sys.modules if name.split(".")[0] in heavy
              or name.startswith(later)}))
"""


def test_a_plain_config_serves_without_faker_jwt_httpx_regex_websockets_or_the_recorder() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_a_template_with_a_common_faker_provider_loads_without_faker() -> None:
    # the repo's own nodes.yaml says {fake.first_name}: validating it must not cost Faker's import
    script = SCRIPT.replace('"You said: {message}"', '"Hi {fake.first_name}: {message}"')
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_a_config_with_a_regex_loads_the_regex_module() -> None:
    script = SCRIPT.replace(
        '{api: interlocute, model: {kind: echo, template: "You said: {message}"}}',
        "{api: interlocute, model: {kind: scripted, rules: [{when: {regex: 'o+'}, reply: hi}]}}",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "'regex'" in done.stdout, done.stdout


SERVE_SCRIPT = """
import asyncio, sys
import uvicorn
from emulator.cli import main

started = uvicorn.Server.startup

async def startup(self, sockets=None):
    await started(self, sockets)
    await asyncio.sleep(0.6)  # the config watcher has started and reported once
    loaded = ("anyio._backends", "websockets", "wsproto", "faker", "jwt", "httpx")
    print(sorted({n for n in sys.modules if n.startswith(loaded)}), flush=True)
    self.should_exit = True

uvicorn.Server.startup = startup
sys.exit(main(["serve", "--config", sys.argv[1], "--port", "0", "--data", sys.argv[2]]))
"""


def test_serving_with_hot_reload_starts_without_anyio_workers_or_websockets(
    tmp_path: Path,
) -> None:
    """What `make run` starts (on-disk store, config watcher) loads neither anyio's asyncio
    backend (Litestar's event emitter, watchfiles' awatch) nor a WebSocket library."""
    config = tmp_path / "nodes.yaml"
    config.write_text(
        "version: 1\nnodes:\n  plain: {api: interlocute, model: {kind: echo}, "
        "auth: {anonymous: true}}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", SERVE_SCRIPT, str(config), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
