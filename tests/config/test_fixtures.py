"""Fixture files: parsing with file:line:col errors, writing, and the fixtures directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emulator.config.errors import ConfigError
from emulator.config.fixtures import (
    FixtureLibrary,
    dump_fixture,
    parse_fixture,
    replay_problems,
)
from emulator.config.loader import parse_config
from emulator.core.errors import ModelError
from emulator.core.fixtures import Conversation, Fixture, FixtureTurn, Frame, RecordedSource

GOOD = """\
version: 1
api: sentientone
conversations:
  - id: conv-1
    turns:
      - message: How long is the warranty?
        reply:
          - {ms: 120, text: Two}
          - {ms: 140, text: " years."}
        sources:
          - {id: doc-w, title: Warranty, url: "https://example.com/w", source_type: web, score: 0.5}
      - message: Thanks
        reply: You are welcome.
"""


def test_a_fixture_file_becomes_typed_values() -> None:
    fixture = parse_fixture(GOOD, "f.yaml")
    assert fixture.api == "sentientone"
    first, second = fixture.conversations[0].turns
    assert first.frames == (Frame("Two", 120), Frame(" years.", 140))
    assert first.sources == (
        RecordedSource("doc-w", "Warranty", "https://example.com/w", "web", 0.5, ""),
    )
    # a plain string reply: one frame per token, no delay
    assert second.frames == tuple(Frame(t, 0) for t in ("You", " are", " welcome", "."))
    assert second.reply == "You are welcome."


def test_what_is_written_reads_back_the_same() -> None:
    fixture = Fixture(
        (
            Conversation(
                (
                    FixtureTurn(
                        "Ünïcode: ✓ and 'quotes' and: colons",
                        (Frame(" leading space", 0), Frame("line\nbreak", 15), Frame("", 15)),
                        (RecordedSource("d", "T", None, "web", 0.25, "…snip"),),
                    ),
                ),
                "thr_1",
            ),
            Conversation((FixtureTurn("", (Frame("#not a comment", 3),)),)),
        ),
        api="interlocute",
        upstream="https://my-node.interlocute.ai",
    )
    text = dump_fixture(fixture, "Recorded by emulator record\n\nsecond line")
    assert text.startswith("# Recorded by emulator record\n#\n# second line\nversion: 1\n")
    assert "- {ms: 15, text: " in text  # one line per frame, readable in a diff
    assert parse_fixture(text) == fixture


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("", ["f.yaml:1:1: the fixture file is empty: expected `conversations:`"]),
        ("- 1", ["f.yaml:1:1: fixture: expected a mapping with `conversations:`, got a list"]),
        ("version: 1", ["f.yaml:1:1: the fixture is missing `conversations:`"]),
        (
            "version: 2\nconversations: []\nconversation: []",
            [
                "f.yaml:1:10: version: this emulator reads fixture version 1, got 2",
                "f.yaml:3:1: unknown key 'conversation' in fixture; did you mean 'conversations'?",
            ],
        ),
        (
            "conversations: [{turns: []}]",
            ["f.yaml:1:17: a conversation needs at least one turn"],
        ),
        (
            "conversations:\n  - turns:\n      - {message: hi, reply: [{ms: 5, text: a}, "
            "{ms: 2, text: b}]}",
            ["f.yaml:3:54: ms: frames are in arrival order, but 2 comes after 5"],
        ),
        (
            "conversations: [{turns: [{message: hi, reply: {text: a}}]}]",
            ["f.yaml:1:47: reply: expected a string or a list of {ms, text} frames, got a mapping"],
        ),
        (
            "conversations: [{turns: [{reply: a}]}]",
            ["f.yaml:1:26: a turn is missing `message:`"],
        ),
        (
            "conversations: [{turns: [{message: a, reply: [{ms: -1, text: x}]}]}]",
            ["f.yaml:1:52: ms: expected an integer >= 0, got -1"],
        ),
        (
            "conversations: [{turns: [{message: a, reply: b, sources: [{id: d}]}]}]",
            ["f.yaml:1:59: a source is missing `title:`"],
        ),
        (
            "api: interlocut\nconversations: []",
            [
                "f.yaml:1:6: api: expected one of interlocute | agent-slug | sentientone | "
                "widget, got 'interlocut'; did you mean 'interlocute'?"
            ],
        ),
        (
            "conversations: [{turns: [{message: a, reply: b, reply: c}]}]",
            None,  # a duplicate key, reported like nodes.yaml's
        ),
        ("conversations: [", None),
    ],
)
def test_bad_fixture_files_are_reported_with_their_place(
    text: str, errors: list[str] | None
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_fixture(text, "f.yaml")
    found = [str(issue) for issue in caught.value.issues]
    if errors is None:
        assert found and all(e.startswith("f.yaml:1:") for e in found), found
    else:
        assert found == errors


def test_the_library_rereads_a_file_only_when_it_changed(tmp_path: Path) -> None:
    library = FixtureLibrary(tmp_path)
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD)
    first = library.load("demo")
    assert library.load("demo") is first  # cached
    path.write_text(GOOD.replace("Thanks", "Thank you, bye"))
    os.utime(path, ns=(1, 1))  # a new stamp even on filesystems with coarse mtimes
    assert library.load("demo").conversations[0].turns[1].message == "Thank you, bye"


def test_names_resolve_to_yaml_or_yml_files(tmp_path: Path) -> None:
    library = FixtureLibrary(tmp_path)
    assert library.path("a") == tmp_path / "a.yaml"
    (tmp_path / "b.yml").write_text(GOOD)
    assert library.path("b") == tmp_path / "b.yml"
    assert library.load("b.yml").api == "sentientone"


def test_unusable_fixtures_are_model_errors_naming_the_file(tmp_path: Path) -> None:
    library = FixtureLibrary(tmp_path)
    with pytest.raises(ModelError, match=r"fixture 'nope' not found: .*nope\.yaml does not exist"):
        library.fixture("nope")
    (tmp_path / "bad.yaml").write_text("conversations: [{turns: []}]\n")
    with pytest.raises(ModelError) as caught:
        library.fixture("bad")
    assert caught.value.message == (
        f"fixture 'bad' cannot be used: {tmp_path / 'bad.yaml'}:1:17: "
        "a conversation needs at least one turn"
    )
    (tmp_path / "latin.yaml").write_bytes(b"conversations: [{turns: [{message: caf\xe9}]}]")
    with pytest.raises(ModelError, match="not UTF-8"):
        library.fixture("latin")


def test_append_creates_the_file_then_groups_turns_by_conversation(tmp_path: Path) -> None:
    library = FixtureLibrary(tmp_path / "fixtures")
    one = FixtureTurn("hi", (Frame("Hello", 10),))
    two = FixtureTurn("again", (Frame("Hi", 5),))
    path = library.append("rec", "c1", one, api="widget", upstream="http://up", header="Recorded")
    library.append("rec", "c2", one)
    library.append("rec", "c1", two)
    library.append("rec", None, two)
    assert path == tmp_path / "fixtures" / "rec.yaml"
    assert path.read_text().startswith("# Recorded\nversion: 1\napi: widget\nupstream: http://up\n")
    fixture = parse_fixture(path.read_text())
    assert [(c.id, [t.message for t in c.turns]) for c in fixture.conversations] == [
        ("c1", ["hi", "again"]),
        ("c2", ["hi"]),
        (None, ["again"]),
    ]
    assert [p.name for p in path.parent.iterdir()] == ["rec.yaml"]  # no temporary files left


def test_replay_problems_name_each_node_whose_fixture_cannot_be_replayed(tmp_path: Path) -> None:
    config = parse_config(
        """
        nodes:
          ok: {api: widget, model: {kind: replay, fixture: good}}
          missing: {api: widget, model: {kind: replay, fixture: nope}}
          broken: {api: widget, model: {kind: replay, fixture: bad}}
          other: {api: widget, model: echo}
        """
    )
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text("conversations: 1\n")
    assert replay_problems(config, FixtureLibrary(tmp_path)) == [
        f"node 'missing': fixture 'nope' not found: {tmp_path}/nope.yaml does not exist",
        f"node 'broken': fixture 'bad':\n{tmp_path}/bad.yaml:1:16: conversations: expected a "
        "list, got an integer (1)",
    ]


def test_words_yaml_would_read_as_booleans_or_numbers_are_kept_as_written() -> None:
    fixture = parse_fixture(
        "conversations: [{turns: [{message: yes, reply: [{ms: 1, text: No}, {ms: 2, text: 1.50}]},"
        " {message: 42, reply: off}]}]"
    )
    first, second = fixture.conversations[0].turns
    assert (first.message, first.reply) == ("yes", "No1.50")
    assert (second.message, second.reply) == ("42", "off")


def test_a_lone_surrogate_in_a_fixture_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_fixture('conversations: [{turns: [{message: hi, reply: "x \\ud800"}]}]', "f.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "f.yaml:1:47: this text holds a lone surrogate (an escape like \\ud800)"
    ]
