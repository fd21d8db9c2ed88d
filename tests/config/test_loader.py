"""nodes.yaml to typed nodes: the demo loads, and every mistake is named at file:line:col."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
import regex

from emulator.config import Config, ConfigError, load_config, parse_config
from emulator.config.model import CAPABILITY_NAMES, ChitSection, Location

REPO = Path(__file__).resolve().parents[2]


def parse(text: str) -> Config:
    return parse_config(dedent(text), "nodes.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return [str(issue) for issue in info.value.issues]


# -- the demo ----------------------------------------------------------------------------------


def test_the_demo_loads() -> None:
    config = load_config(REPO / "nodes.yaml")
    assert config.path == str(REPO / "nodes.yaml")
    assert list(config.nodes) == ["support", "echo", "helpdesk", "faq", "researcher", "widget"]
    assert config.nodes["faq"].model.fixture == "faq"
    assert [node.api for node in config.nodes.values()] == [
        "interlocute", "interlocute", "agent-slug", "agent-slug", "sentientone", "widget",
    ]  # fmt: skip
    support = config.nodes["support"]
    assert support.name == "Support Assistant"
    assert support.auth.api_keys == ("sk-support-123",)
    assert support.auth.jwt is not None and support.auth.jwt.audience == "support"
    assert config.nodes["echo"].auth.anonymous
    assert config.nodes["helpdesk"].slug == "customer-support"
    assert config.nodes["researcher"].knowledge
    assert config.nodes["widget"].auth.api_keys == ("wk-widget-123",)
    assert all(node.latency.first_token_ms == 0 for node in config.nodes.values())


def test_the_bundled_demo_is_the_repo_demo() -> None:
    bundled = REPO / "emulator" / "demo_nodes.yaml"
    assert bundled.read_bytes() == (REPO / "nodes.yaml").read_bytes()
    fixtures = sorted(p.name for p in (REPO / "fixtures").iterdir())
    assert sorted(p.name for p in (REPO / "emulator" / "demo_fixtures").iterdir()) == fixtures
    for name in fixtures:
        copy = REPO / "emulator" / "demo_fixtures" / name
        assert copy.read_bytes() == (REPO / "fixtures" / name).read_bytes()


def test_a_minimal_node_gets_defaults() -> None:
    node = parse("nodes: {a: {api: widget}}").nodes["a"]
    assert node.name == "a"
    assert node.description == ""
    assert (node.model.kind, node.model.name) == ("echo", "emulator-echo")
    assert node.location == Location("nodes.yaml", 1, 9)


def test_config_path_is_the_source() -> None:
    assert parse_config("nodes: {a: {api: widget}}").path == "<string>"


# -- model -------------------------------------------------------------------------------------


def test_scripted_model() -> None:
    node = parse("""\
        nodes:
          a:
            api: interlocute
            knowledge: [{id: kb, text: Shipping.}]
            model:
              rules:
                - when: {regex: "order (\\\\d+)", turn: 2}
                  replies: ["Order {match.1}.", "Again."]
                  sources: [kb]
                - {when: {contains: hi, any: true}, reply: "Hi {fake.first_name}"}
              fallback: lorem
        """).nodes["a"]
    model = node.model
    assert (model.kind, model.name, model.fallback) == ("scripted", "emulator-scripted", "lorem")
    first, second = model.rules
    assert first.when.regex == regex.compile(r"order (\d+)")
    assert first.when.turn == 2
    assert first.replies == ("Order {match.1}.", "Again.")
    assert first.sources == ("kb",)
    assert second.replies == ("Hi {fake.first_name}",)
    assert second.when.contains == "hi" and second.when.any


@pytest.mark.parametrize("kind", ["echo", "lorem"])
def test_model_shorthand(kind: str) -> None:
    model = parse(f"nodes: {{a: {{api: widget, model: {kind}}}}}").nodes["a"].model
    assert (model.kind, model.name) == (kind, f"emulator-{kind}")


def test_replay_model_needs_a_fixture() -> None:
    assert problems("""\
        nodes:
          a:
            api: widget
            model: {kind: replay, speed: 2}
        """) == [
        "nodes.yaml:4:12: a replay model is missing `fixture:` (the name of a recorded fixture)"
    ]
    model = parse("nodes: {a: {api: widget, model: {fixture: demo, speed: 2}}}").nodes["a"].model
    assert (model.kind, model.fixture, model.speed) == ("replay", "demo", 2.0)


def test_scripted_shorthand_needs_rules() -> None:
    assert problems("nodes: {a: {api: widget, model: scripted}}") == [
        "nodes.yaml:1:33: model: a scripted model needs rules: write model: "
        "{kind: scripted, rules: [...]}"
    ]


def test_rule_problems() -> None:
    assert problems("""\
        nodes:
          a:
            api: interlocute
            model:
              rules:
                - when: {contains: x}
                - {reply: y}
                - {when: {}, reply: x, replies: [a]}
                - {when: {turn: 0}, replies: []}
        """) == [
        "nodes.yaml:6:11: rule 1 needs `reply:` or `replies:`",
        "nodes.yaml:7:11: rule 2 is missing `when:` (for example `when: {contains: hi}`)",
        "nodes.yaml:8:18: when: needs at least one of contains, equals, regex, turn, any",
        "nodes.yaml:8:41: rule 3 has both `reply` and `replies`: keep one",
        "nodes.yaml:9:25: turn: expected an integer >= 1, got 0",
        "nodes.yaml:9:38: replies: expected a non-empty list of strings",
    ]


def test_invalid_regex_is_reported_at_the_regex() -> None:
    assert problems("""\
        nodes:
          a:
            api: interlocute
            model:
              rules:
                - when: {regex: "order (ORD"}
                  reply: x
        """) == ["nodes.yaml:6:25: regex: invalid regular expression: missing ) at position 10"]


def test_bad_template_placeholder() -> None:
    assert problems("""\
        nodes:
          a:
            api: interlocute
            model: {template: "You said {message.upper}"}
        """) == [
        "nodes.yaml:4:23: template: unknown placeholder '{message.upper}': use {message}, "
        "{turn}, {match.N}, {node.name} or {fake.PROVIDER}"
    ]


def test_unknown_faker_provider() -> None:
    assert problems("""\
        nodes:
          a:
            api: interlocute
            model:
              rules:
                - when: {any: true}
                  replies: ["ok", "Hi {fake.frist_name}"]
        """) == [
        "nodes.yaml:7:27: replies: unknown Faker provider 'frist_name'; did you mean 'first_name'?"
    ]


def test_match_groups_must_exist() -> None:
    assert problems("""\
        nodes:
          a:
            api: interlocute
            model:
              rules:
                - {when: {regex: "(a)"}, reply: "{match.2}"}
                - {when: {turn: 1}, reply: "{match.0}"}
              fallback: "{match.1}"
        """) == [
        "nodes.yaml:6:41: reply: {match.2} has no value: this rule's regex has only 1 group",
        "nodes.yaml:7:36: reply: {match.0} has no value here: only a rule with `regex` "
        "or `contains` sets it",
        "nodes.yaml:8:17: fallback: {match.1} has no value here: only a rule with `regex` "
        "or `contains` sets it",
    ]


def test_unknown_source_id() -> None:
    assert problems("""\
        nodes:
          a:
            api: sentientone
            knowledge: [{id: kb-shipping, text: t}]
            model:
              rules:
                - {when: {any: true}, reply: x, sources: [kb-shiping]}
        """) == [
        "nodes.yaml:7:51: sources: unknown knowledge id 'kb-shiping'; did you mean 'kb-shipping'?"
    ]


def test_keys_for_another_kind_of_model() -> None:
    assert problems("nodes: {a: {api: widget, model: {kind: lorem, fixture: x}}}") == [
        "nodes.yaml:1:47: `fixture` only applies to replay models (this one is lorem)"
    ]


# -- YAML syntax -------------------------------------------------------------------------------


def test_syntax_error_has_line_and_column() -> None:
    assert problems("nodes:\n  a: {api: widget\n") == [
        "nodes.yaml:3:1: invalid YAML: expected ',' or '}', but got '<stream end>' "
        "(while parsing a flow mapping started at line 2)"
    ]


def test_tab_indentation() -> None:
    assert problems("nodes:\n  a:\n\tapi: widget\n") == [
        "nodes.yaml:3:1: invalid YAML: a tab character is not allowed here; indent YAML with spaces"
    ]


def test_bad_indentation() -> None:
    assert problems("nodes:\n  a:\n    api: widget\n   name: x\n") == [
        "nodes.yaml:4:4: invalid YAML: this line's indentation does not line up with "
        "the lines above"
    ]


def test_duplicate_key() -> None:
    assert problems("nodes:\n  a:\n    api: widget\n    name: x\n    api: sentientone\n") == [
        "nodes.yaml:5:5: duplicate key 'api' (first defined at line 3)"
    ]


def test_duplicate_alias() -> None:
    assert problems("nodes:\n  a: {api: widget}\n  a: {api: widget}\n") == [
        "nodes.yaml:3:3: duplicate key 'a' (first defined at line 2)"
    ]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    assert problems(text) == ["nodes.yaml:1:1: the file is empty: expected a mapping with `nodes:`"]


def test_top_level_must_be_a_mapping() -> None:
    assert problems("- a\n- b\n") == [
        "nodes.yaml:1:1: the top level must be a mapping with `nodes:`, got a list"
    ]


def test_anchors_and_merge_keys() -> None:
    config = parse("""\
        x-common: &common {api: widget, description: shared}
        nodes:
          a: {<<: *common, name: A}
          b: *common
        """)
    assert [(n.api, n.name, n.description) for n in config.nodes.values()] == [
        ("widget", "A", "shared"),
        ("widget", "b", "shared"),
    ]


# -- schema ------------------------------------------------------------------------------------


def test_unknown_keys_with_and_without_a_hint() -> None:
    assert problems("""\
        nodes:
          a:
            api: widget
            descripton: x
            latency: {tokens_per_sec: 3}
            zzz: 1
        """) == [
        "nodes.yaml:4:5: unknown key 'descripton' in node 'a'; did you mean 'description'?",
        "nodes.yaml:5:15: unknown key 'tokens_per_sec' in latency; "
        "did you mean 'tokens_per_second'?",
        "nodes.yaml:6:5: unknown key 'zzz' in node 'a'",
    ]


def test_wrong_types() -> None:
    assert problems("""\
        nodes:
          a:
            api: widget
            name: [x]
            auth: {anonymous: "yes", api_keys: k}
            latency: {jitter: 2, first_token_ms: true}
            rate_limit: {requests: true, per_seconds: 0}
        """) == [
        "nodes.yaml:4:11: name: expected a string, got a list",
        "nodes.yaml:5:23: anonymous: expected true or false, got a string ('yes')",
        "nodes.yaml:5:40: api_keys: expected a list, got a string ('k')",
        "nodes.yaml:6:23: jitter: expected a number from 0 to 1, got 2",
        "nodes.yaml:6:42: first_token_ms: expected a number >= 0, got true/false (true)",
        "nodes.yaml:7:28: requests: expected an integer >= 1, got true/false (true)",
        "nodes.yaml:7:47: per_seconds: expected a number > 0, got 0",
    ]


def test_bad_alias() -> None:
    assert problems("nodes:\n  Support_1: {api: widget}\n") == [
        "nodes.yaml:2:3: node alias 'Support_1' is not valid: use 1 to 63 lowercase letters, "
        "digits and '-', starting with a letter or digit"
    ]


def test_unknown_api() -> None:
    assert problems("nodes:\n  a: {api: interlocut}\n") == [
        "nodes.yaml:2:12: api: expected one of interlocute | agent-slug | sentientone | widget, "
        "got 'interlocut'; did you mean 'interlocute'?"
    ]


def test_missing_api_and_missing_nodes() -> None:
    assert problems("nodes:\n  a: {name: A}\n") == [
        "nodes.yaml:2:3: node 'a' is missing `api:` "
        "(one of interlocute | agent-slug | sentientone | widget)"
    ]
    assert problems("version: 2\n") == [
        "nodes.yaml:1:1: the config is missing `nodes:` (a mapping from alias to node)",
        "nodes.yaml:1:10: version: this emulator reads version 1, got 2",
    ]


def test_custom_chit_section_needs_a_body() -> None:
    assert problems("""\
        nodes:
          a:
            api: interlocute
            chit:
              sections:
                pricing: {mode: custom, format: text/markdown}
                identity: {body: hi}
        """) == [
        "nodes.yaml:6:18: pricing: `mode: custom` needs a `body:` (the text to serve)",
        "nodes.yaml:7:20: identity: `body` only applies with `mode: custom`",
    ]


def test_chit_problems() -> None:
    assert problems("""\
        nodes:
          a:
            api: interlocute
            chit:
              enabled: nope
              verbosity: loud
              sections:
                pricing: {mode: custom, format: text/html, body: "<b>x</b>"}
                billing: {enabled: false}
                status: {mode: custom, body: }
                identity: {mode: fancy}
        """) == [
        "nodes.yaml:5:16: enabled: expected true or false, got a string ('nope')",
        "nodes.yaml:6:18: verbosity: expected one of low | standard | high, got 'loud'",
        "nodes.yaml:8:41: format: expected one of text/plain | text/markdown, got 'text/html'; "
        "did you mean 'text/plain'?",
        "nodes.yaml:9:9: unknown key 'billing' in sections",
        "nodes.yaml:10:17: status: `mode: custom` needs a `body:` (the text to serve)",
        "nodes.yaml:11:26: mode: expected one of standard | custom, got 'fancy'",
    ]


def test_chit_sections_default_to_enabled_and_standard() -> None:
    chit = (
        parse("""\
        nodes:
          a:
            api: interlocute
            chit: {enabled: false, sections: {status: {enabled: false}, identity: null}}
        """)
        .nodes["a"]
        .chit
    )
    assert not chit.enabled and chit.verbosity == "standard"
    assert not chit.section("status").enabled
    assert chit.section("identity") == chit.section("pricing") == ChitSection()


def test_chit() -> None:
    chit = (
        parse("""\
        nodes:
          a:
            api: interlocute
            chit: {verbosity: high, sections: {status: {mode: custom, body: Up.}}}
        """)
        .nodes["a"]
        .chit
    )
    assert chit.verbosity == "high"
    status = chit.section("status")
    assert (status.mode, status.format, status.body) == ("custom", "text/plain", "Up.")
    assert chit.section("pricing").mode == "standard"


def test_faults() -> None:
    assert problems("""\
        nodes:
          a:
            api: interlocute
            faults:
              - {status: 503, retry_after: 2, rate: 0.5, times: 1}
              - {stream_error_after: 1, disconnect_after: 2}
        """) == [
        "nodes.yaml:5:9: a fault takes `rate` or `times`, not both",
        "nodes.yaml:6:9: a fault needs exactly one of `status`, `stream_error_after`, "
        "`disconnect_after` (got `stream_error_after` and `disconnect_after`)",
    ]
    fault = (
        parse("""\
        nodes:
          a:
            api: interlocute
            faults: [{when: {equals: boom}, status: 429, retry_after: 3, times: 2}]
        """)
        .nodes["a"]
        .faults[0]
    )
    assert (fault.status, fault.retry_after, fault.times) == (429, 3, 2)
    assert fault.when is not None and fault.when.equals == "boom"


def test_shared_api_key() -> None:
    assert problems("""\
        nodes:
          a: {api: interlocute, auth: {api_keys: [sk-1]}}
          b: {api: widget, auth: {api_keys: [sk-2, sk-1]}}
        """) == [
        "nodes.yaml:3:44: api_keys: 'sk-1' is also a key of node 'a'; a key must open one node only"
    ]


def test_shared_jwt_secret_needs_distinct_audiences() -> None:
    assert problems("""\
        nodes:
          a: {api: interlocute, auth: {jwt: {secret: s}}}
          b: {api: interlocute, auth: {jwt: {secret: s}}}
        """) == [
        "nodes.yaml:3:3: jwt: node 'b' has the same secret as node 'a', so a token for one "
        "would open the other; give each its own secret or its own `audience`"
    ]
    parse("""\
        nodes:
          a: {api: interlocute, auth: {jwt: {secret: s, audience: a}}}
          b: {api: interlocute, auth: {jwt: {secret: s, audience: b}}}
        """)


def test_duplicate_slug() -> None:
    assert problems("""\
        nodes:
          customer-support: {api: agent-slug}
          helpdesk: {api: agent-slug, name: Customer Support}
        """) == [
        "nodes.yaml:3:3: duplicate slug 'customer-support': node 'customer-support' "
        "already answers to it on the agent-slug API"
    ]


def test_issues_are_collected_in_file_order() -> None:
    found = problems("""\
        nodes:
          b: {api: nope}
          a: {api: widget, latency: {jitter: -1}, name: [x]}
        """)
    assert [issue.split(": ")[0] for issue in found] == [
        "nodes.yaml:2:12", "nodes.yaml:3:38", "nodes.yaml:3:49",
    ]  # fmt: skip


# -- defaults and capabilities ------------------------------------------------------------------


def test_defaults_merge_under_every_node() -> None:
    config = parse("""\
        defaults:
          latency: {first_token_ms: 100, tokens_per_second: 20}
          tools: [search]
          rate_limit: {requests: 5, per_seconds: 1}
        nodes:
          a:
            api: widget
            latency: {tokens_per_second: 50}
            tools: [lookup]
          b:
            api: widget
            rate_limit: null
        """)
    a, b = config.nodes["a"], config.nodes["b"]
    assert (a.latency.first_token_ms, a.latency.tokens_per_second) == (100, 50)
    assert [tool.name for tool in a.tools] == ["lookup"]
    assert [tool.name for tool in b.tools] == ["search"]
    assert a.rate_limit is not None and a.rate_limit.requests == 5
    assert b.rate_limit is None


def test_a_bad_default_is_reported_once() -> None:
    assert problems("""\
        defaults:
          latency: {jitter: 5}
        nodes:
          a: {api: widget}
          b: {api: widget}
        """) == ["nodes.yaml:2:21: jitter: expected a number from 0 to 1, got 5"]


def test_capability_defaults() -> None:
    config = parse("""\
        nodes:
          plain: {api: widget}
          rich:
            api: sentientone
            tools: [search]
            knowledge: [{text: Some text.}]
            capabilities: {streaming: false, scheduling: true}
        """)
    assert dict(config.nodes["plain"].capabilities) == {
        "memory": True, "rag": False, "toolUse": False, "streaming": True, "scheduling": False,
    }  # fmt: skip
    assert dict(config.nodes["rich"].capabilities) == {
        "memory": True, "rag": True, "toolUse": True, "streaming": False, "scheduling": True,
    }  # fmt: skip
    assert tuple(config.nodes["rich"].capabilities) == CAPABILITY_NAMES
    assert config.nodes["rich"].knowledge[0].id == "doc-1"


def test_unknown_capability() -> None:
    assert problems("nodes: {a: {api: widget, capabilities: {tooluse: true}}}") == [
        "nodes.yaml:1:41: unknown key 'tooluse' in capabilities; did you mean 'toolUse'?"
    ]


# -- files -------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nodes.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"config file '{path}' does not exist"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == f"config file '{tmp_path}' is a directory, not a file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_bytes(b"nodes:\n  a: {api: widget, name: caf\xe9}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}:2:29: the file is not UTF-8 text (byte 0xe9 cannot be decoded)"
    )


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_text("nodes:\n  a: {api: nope}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.as_dicts()[0]["file"] == str(path)
    assert info.value.as_dicts()[0]["line"] == 2


def test_text_with_a_lone_surrogate_is_an_error_where_it_is_written() -> None:
    """YAML's "\\ud800" escape makes text no client could be sent and no file could store."""
    text = 'nodes:\n  a:\n    api: widget\n    model: {kind: echo, template: "hi \\ud800"}\n'
    assert problems(text) == [
        "nodes.yaml:4:35: this text holds a lone surrogate (an escape like \\ud800)"
    ]
    keyed = 'nodes:\n  a: {api: widget, "x\\udc00": 1}\n'
    assert problems(keyed) == [
        "nodes.yaml:2:20: this text holds a lone surrogate (an escape like \\ud800)",
        "nodes.yaml:2:20: unknown key 'x?' in node 'a'",
    ]
    assert parse('nodes: {a: {api: widget, name: "smile \\ud83d\\ude00"}}').nodes["a"].name == (
        "smile 😀"
    )
