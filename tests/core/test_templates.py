"""Reply templates: value-only substitution and config-time validation."""

from __future__ import annotations

import pytest

from emulator.core.templates import (
    COMMON_PROVIDERS,
    PLACEHOLDER_PATTERN,
    _faker_providers,
    is_faker_provider,
    placeholders,
    render_template,
    validate_template,
)

VALUES = {"message": "hi there", "turn": "3", "node.name": "Support", "match.1": "ORD-7"}


def fake(provider: str) -> str:
    return f"<{provider}>"


def render(text: str) -> str:
    return render_template(text, VALUES, fake)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("You said: {message}", "You said: hi there"),
        ("{node.name}, turn {turn}", "Support, turn 3"),
        ("Order {match.1}", "Order ORD-7"),
        ("Order {match.01}", "Order ORD-7"),
        ("Hi {fake.first_name}", "Hi <first_name>"),
        ("{{message}} is {message}", "{message} is hi there"),
        ("{{{message}}}", "{hi there}"),
        ("no placeholders", "no placeholders"),
        ("", ""),
    ],
)
def test_render_substitutes_values(template: str, expected: str) -> None:
    assert render(template) == expected


def test_render_leaves_a_missing_group_empty() -> None:
    assert render("[{match.2}]") == "[]"


@pytest.mark.parametrize("text", ["{foo}", "{message.upper}", "{0}", "{__class__}", "{", "a}"])
def test_render_copies_anything_else_as_written(text: str) -> None:
    assert render(text) == text


def test_render_does_not_reinterpret_values() -> None:
    values = {"message": "{turn} \\1 {{"}
    assert render_template("{message}", values, fake) == "{turn} \\1 {{"


@pytest.mark.parametrize(
    "name", ["message", "turn", "match.0", "match.12", "node.name", "fake.first_name"]
)
def test_placeholder_pattern_accepts(name: str) -> None:
    assert PLACEHOLDER_PATTERN.fullmatch(name)


@pytest.mark.parametrize(
    "name", ["foo", "0", "__class__", "message.upper", "match.x", "fake.__class__", "node.alias"]
)
def test_placeholder_pattern_rejects(name: str) -> None:
    assert not PLACEHOLDER_PATTERN.fullmatch(name)


def test_placeholders_lists_well_formed_names_in_order() -> None:
    assert placeholders("{turn} {{x}} {bad} {match.1}") == ["turn", "match.1"]


def test_validate_accepts_a_good_template() -> None:
    text = "{message} {turn} {match.2} {node.name} {fake.city} {{literal}}"
    assert validate_template(text) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{foo}", "unknown placeholder '{foo}'"),
        ("{message.upper}", "unknown placeholder '{message.upper}'"),
        ("{0}", "unknown placeholder '{0}'"),
        ("{}", "unknown placeholder '{}'"),
        ("{__class__}", "unknown placeholder '{__class__}'"),
        ("{fake.__class__}", "unknown placeholder '{fake.__class__}'"),
        ("a { b", "a single '{' in a template: write '{{' for a literal brace"),
        ("a } b", "a single '}' in a template: write '}}' for a literal brace"),
    ],
)
def test_validate_reports_problems(text: str, problem: str) -> None:
    problems = validate_template(text)
    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_unknown_placeholder_message_lists_the_known_ones() -> None:
    assert validate_template("{foo}") == [
        "unknown placeholder '{foo}': use {message}, {turn}, {match.N}, {node.name} "
        "or {fake.PROVIDER}"
    ]


def test_validate_checks_faker_providers() -> None:
    assert validate_template("{fake.frist_name}") == [
        "unknown Faker provider 'frist_name'; did you mean 'first_name'?"
    ]


def test_validate_takes_a_provider_check() -> None:
    assert validate_template("{fake.anything}", lambda name: name == "anything") == []


@pytest.mark.parametrize("name", ["first_name", "city", "company", "pyint", "sentence"])
def test_real_providers(name: str) -> None:
    assert is_faker_provider(name)


@pytest.mark.parametrize(
    "name",
    ["seed_instance", "seed", "unique", "random", "format", "parse", "add_provider", "nope"],
)
def test_not_providers(name: str) -> None:
    assert not is_faker_provider(name)


def test_providers_that_need_arguments_are_rejected() -> None:
    assert not is_faker_provider("enum")  # enum(enum_cls) cannot be called bare


def test_the_providers_known_without_faker_are_real_no_argument_providers() -> None:
    # checked against the installed Faker, so a release that drops one fails here, not at a turn
    assert COMMON_PROVIDERS.issubset(_faker_providers())
