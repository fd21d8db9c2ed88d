"""The pytest plugin: `emulator_server` (one server per session) and `emulator` (clean per test).

Registered through the `pytest11` entry point, so it loads in every pytest run of an environment
that has the emulator installed: nothing is imported or started until a test asks for a fixture.

Config: `--emulator-config PATH` (ini `emulator_config`), else `nodes.yaml` in the rootdir, else
the bundled demo. Seed: `--emulator-seed N` (ini `emulator_seed`). A test marked
`@pytest.mark.emulator_config(yaml)` is served that config instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from emulator.testing.server import ConfigSource, EmulatorServer

MARKER = "emulator_config"
DEFAULT_CONFIG = "nodes.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("emulator", "chat-api-emulator fixtures")
    group.addoption(
        "--emulator-config",
        metavar="PATH",
        help="nodes.yaml served by the emulator fixtures "
        "(default: nodes.yaml in the rootdir, else the bundled demo)",
    )
    group.addoption(
        "--emulator-seed", type=int, metavar="N", help="seed ids and lorem text of the emulator"
    )
    parser.addini(
        "emulator_config", "nodes.yaml served by the emulator fixtures (relative to here)"
    )
    parser.addini("emulator_seed", "seed ids and lorem text of the emulator fixtures")
    group.addoption(
        "--emulator-fixtures",
        metavar="DIR",
        help="where replay nodes find their fixtures (default: fixtures/ in the rootdir)",
    )
    parser.addini("emulator_fixtures", "where replay nodes find their fixtures (relative to here)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(config): serve this config (YAML text or a mapping) to this test "
        "through the `emulator` fixture",
    )


@pytest.fixture(scope="session")
def emulator_server(pytestconfig: pytest.Config) -> Iterator[EmulatorServer]:
    """The emulator for the whole session, on 127.0.0.1 and a free port, threads in memory."""
    from emulator.testing.server import EmulatorServer

    config = session_config(pytestconfig)
    seed, fixtures = session_seed(pytestconfig), session_fixtures(pytestconfig)
    with EmulatorServer(config, seed=seed, fixtures=fixtures) as server:
        yield server


@pytest.fixture
def emulator(
    emulator_server: EmulatorServer, request: pytest.FixtureRequest
) -> Iterator[EmulatorServer]:
    """The session's emulator with no threads, journal or spent rate limits, on the session
    config (or the test's `emulator_config` marker); the session config is back afterwards."""
    emulator_server.restore()
    emulator_server.reset()
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        emulator_server.configure(_marker_config(marker))
    yield emulator_server
    emulator_server.restore()


def session_config(config: pytest.Config) -> Path | None:
    """The config file the session serves; None for the bundled demo."""
    given: str | None = config.getoption("emulator_config")
    if given:
        return config.invocation_params.dir / given
    ini: str = config.getini("emulator_config")
    if ini:
        return (config.inipath.parent if config.inipath else config.rootpath) / ini
    default = config.rootpath / DEFAULT_CONFIG
    return default if default.is_file() else None


def session_fixtures(config: pytest.Config) -> Path:
    """The directory replay nodes read fixtures from."""
    given: str | None = config.getoption("emulator_fixtures")
    if given:
        return config.invocation_params.dir / given
    ini: str = config.getini("emulator_fixtures")
    if ini:
        return (config.inipath.parent if config.inipath else config.rootpath) / ini
    return config.rootpath / "fixtures"


def session_seed(config: pytest.Config) -> int | None:
    given: int | None = config.getoption("emulator_seed")
    if given is not None:
        return given
    ini: str = config.getini("emulator_seed").strip()
    if not ini:
        return None
    try:
        return int(ini)
    except ValueError:
        raise pytest.UsageError(f"emulator_seed must be a whole number, got {ini!r}") from None


def _marker_config(marker: pytest.Mark) -> ConfigSource:
    if len(marker.args) != 1 or marker.kwargs:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER} takes one config: YAML text, a mapping or a path"
        )
    source: ConfigSource = marker.args[0]
    return source
