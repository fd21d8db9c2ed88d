"""The pytest plugin as a user's suite meets it: small test files, run by pytest in a
subprocess, that drive the emulator fixtures over real HTTP."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from emulator.core.seams import Ids

ROOT = Path(__file__).resolve().parents[2]

HELPERS = """
import httpx

SUPPORT_KEY = {"Authorization": "Bearer sk-support-123"}


def chat(emulator, alias, content="ping", headers=None):
    url = emulator.node_url(alias) + "/chat"
    return httpx.post(url, json={"content": content}, headers=headers or {})
"""

DEMO_SESSION = """
import sys
import threading

import pytest

from helpers import SUPPORT_KEY, chat

FAQ = '''
version: 1
nodes:
  faq:
    api: interlocute
    name: FAQ
    model: {kind: echo, template: "FAQ: {message}"}
    auth: {anonymous: true}
'''


def test_0_nothing_starts_until_a_test_asks():
    assert "emulator.testing.server" not in sys.modules
    assert not [t for t in threading.enumerate() if t.name.startswith("emulator-server")]


def test_1_the_bundled_demo_answers(emulator):
    response = chat(emulator, "support", "ping", SUPPORT_KEY)
    assert response.status_code == 200
    assert response.json()["content"] == "pong (message 1 of this conversation)"
    assert [t["node"] for t in emulator.threads()] == ["support"]


def test_2_each_test_starts_clean(emulator):
    assert emulator.threads() == []
    assert emulator.journal() == []


@pytest.mark.emulator_config(FAQ)
def test_3_the_marker_serves_its_config(emulator):
    assert chat(emulator, "faq", "hi").json()["content"] == "FAQ: hi"
    assert chat(emulator, "support", "ping", SUPPORT_KEY).status_code == 404


def test_4_the_session_config_is_back(emulator):
    assert chat(emulator, "support", "ping", SUPPORT_KEY).status_code == 200
    assert chat(emulator, "faq", "hi").status_code == 404


def test_5_configure_raises_the_errors(emulator):
    from emulator.testing import ConfigRejected

    with pytest.raises(ConfigRejected) as caught:
        emulator.configure("version: 1\\nnodes:\\n  faq: {api: nope}\\n")
    assert [(e["line"], e["column"]) for e in caught.value.errors] == [(3, 14)]
    assert chat(emulator, "support", "ping", SUPPORT_KEY).status_code == 200
    emulator.configure(FAQ)
    assert chat(emulator, "faq", "hi").status_code == 200


def test_6_the_session_config_is_back_after_configure(emulator):
    assert chat(emulator, "support", "ping", SUPPORT_KEY).status_code == 200


@pytest.mark.emulator_config("version: 1\\nnodes:\\n  faq: {api: nope}\\n")
def test_7_a_broken_marker_is_an_error(emulator):
    pass


def test_8_a_failing_request_fails_the_test(emulator):
    assert chat(emulator, "support", "ping").status_code == 200  # no key: 401


def test_9_runtime_faults_and_latency(emulator):
    from emulator.testing import ConfigRejected

    emulator.faults("support", status=503, times=2)
    emulator.latency("support", delay_ms=1)
    assert emulator.get_overrides("support")["latency"]["delay_ms"] == 1
    assert emulator.get_overrides("support")["faults"] == [{"status": 503, "times": 2}]
    codes = [chat(emulator, "support", "ping", SUPPORT_KEY).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    with pytest.raises(ConfigRejected, match="status: expected an integer from 400 to 599"):
        emulator.faults("support", status=99)
    emulator.overrides("echo", rate_limit={"requests": 1, "per_seconds": 60})
    assert chat(emulator, "echo").headers["X-RateLimit-Remaining"] == "0"
    assert chat(emulator, "echo").status_code == 429
    emulator.clear_overrides("echo")
    assert chat(emulator, "echo").status_code == 200


def test_10_overrides_do_not_outlive_their_test(emulator):
    assert emulator.get_overrides("support")["faults"] == []
    assert chat(emulator, "support", "ping", SUPPORT_KEY).status_code == 200
"""

SERVED = """
from helpers import chat


def test_served(emulator):
    response = chat(emulator, "{alias}", "hi")
    assert response.status_code == 200
    assert response.json()["threadId"] == "{thread_id}"
    for other in {others!r}:
        assert chat(emulator, other).status_code == 404
"""


def node(alias: str) -> str:
    """A config with one anonymous echo node."""
    return yaml.safe_dump(
        {
            "version": 1,
            "nodes": {
                alias: {
                    "api": "interlocute",
                    "name": alias,
                    "model": "echo",
                    "auth": {"anonymous": True},
                }
            },
        }
    )


@pytest.fixture
def user_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(helpers=HELPERS)
    return pytester


def test_the_emulator_fixture_in_a_session(user_suite: pytest.Pytester) -> None:
    user_suite.makepyfile(test_demo=DEMO_SESSION)
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=9, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_7_a_broken_marker_is_an_error*",
            "*ConfigRejected: <PUT /_emulator/config>:3:14: api: expected one of*",
        ]
    )
    result.stdout.fnmatch_lines(["*assert 401 == 200*"])


ROOTED = {"nodes.yaml": "rooted"}
INI = {**ROOTED, "configs/ini.yaml": "fromini"}
CLI = {**INI, "cli.yaml": "fromcli"}


@pytest.mark.parametrize(
    ("files", "args", "served"),
    [
        pytest.param({}, ["--emulator-seed", "7"], None, id="bundled-demo"),
        pytest.param(ROOTED, [], "nodes.yaml", id="rootdir-nodes.yaml"),
        pytest.param(INI, [], "configs/ini.yaml", id="ini"),
        pytest.param(CLI, ["--emulator-config", "cli.yaml"], "cli.yaml", id="command-line"),
    ],
)
def test_which_config_the_session_serves(
    user_suite: pytest.Pytester, files: dict[str, str], args: list[str], served: str | None
) -> None:
    for name, alias in files.items():
        (user_suite.path / name).parent.mkdir(exist_ok=True)
        (user_suite.path / name).write_text(node(alias))
    ini = ["[pytest]"]
    if "configs/ini.yaml" in files:
        ini.append("emulator_config = configs/ini.yaml")
    if "--emulator-seed" not in args:
        ini.append("emulator_seed = 3")
    user_suite.makeini("\n".join(ini))
    seed = 7 if "--emulator-seed" in args else 3
    alias = files[served] if served else "echo"  # the demo's anonymous node
    others = sorted({*files.values(), *(["support"] if served else [])} - {alias})
    # Nothing else draws an id before the first thread: the seed alone decides it. (No server
    # in this process: pytester drops the modules a test imports, and httpx's error mapping
    # breaks when httpcore is imported anew.)
    thread_id = Ids(seed).new("thr_")
    user_suite.makepyfile(
        test_served=SERVED.format(alias=alias, thread_id=thread_id, others=others)
    )
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)


def readme_examples() -> list[str]:
    """The Python blocks of the README's "Use from pytest" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use from pytest\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_examples_run(pytester: pytest.Pytester) -> None:
    user_tests, script = readme_examples()
    pytester.makepyfile(test_support=user_tests)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error").assert_outcomes(passed=2)
    shutil.copy(ROOT / "nodes.yaml", pytester.path / "nodes.yaml")
    result = pytester.runpython(pytester.makepyfile(script=script))
    assert result.ret == 0, result.stderr.str()
    assert result.outlines == ["echo"]


REPLAYED = """
import pytest
from helpers import chat


@pytest.mark.emulator_config(
    {"nodes": {"recorded": {"api": "interlocute", "model": {"kind": "replay", "fixture": "demo"},
                            "auth": {"anonymous": True}}}}
)
def test_replayed(emulator):
    response = chat(emulator, "recorded", "Hello")
    assert response.status_code == 200
    assert response.json()["content"] == "Hi from {where}!"
"""


@pytest.mark.parametrize(
    ("directory", "args"),
    [
        pytest.param("fixtures", [], id="rootdir-fixtures"),
        pytest.param("recorded", ["--emulator-fixtures", "recorded"], id="command-line"),
    ],
)
def test_replay_nodes_read_fixtures_from_the_fixtures_directory(
    user_suite: pytest.Pytester, directory: str, args: list[str]
) -> None:
    (user_suite.path / directory).mkdir()
    (user_suite.path / directory / "demo.yaml").write_text(
        "conversations: [{turns: [{message: Hello, reply: Hi from DIR!}]}]\n".replace(
            "DIR", directory
        )
    )
    user_suite.makepyfile(test_replayed=REPLAYED.replace("{where}", directory))
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error", *args)
    result.assert_outcomes(passed=1)
