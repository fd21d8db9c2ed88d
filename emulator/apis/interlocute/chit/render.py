"""Sheets to bytes: JSON, plain text and Markdown say the same facts in the same order.

JSON is indented by two spaces, keys in the sheet's own order, UTF-8, one trailing newline.
Text and Markdown label each key in words (`nodeId` -> "Node ID"); schemas and model parameters
(`parameters`) are shown as compact JSON. A custom section's body is served as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from emulator.apis.interlocute.chit.facts import Custom, Part, Sheet, as_json
from emulator.apis.interlocute.chit.negotiate import JSON, MARKDOWN

RAW_KEYS = frozenset({"parameters"})
_WORDS = {"id": "ID", "url": "URL", "jwt": "JWT", "api": "API", "rag": "RAG"}


def render_section(name: str, part: Part, media_type: str) -> bytes:
    """One section in `media_type`; custom text as-is for text/plain and text/markdown alike."""
    if media_type == JSON:
        return _json(as_json(part))
    if isinstance(part, Custom):
        return part.body.encode()
    return _text(_section_lines(_title(name), part, media_type, 1))


def render_overview(sheet: Sheet, parts: Mapping[str, Part], media_type: str) -> bytes:
    """All enabled sections under one title; `sheet` is the overview's JSON form."""
    if media_type == JSON:
        return _json(sheet)
    head = {key: value for key, value in sheet.items() if key != "sections"}
    lines = _section_lines(f"Node information sheet: {sheet['name']}", head, media_type, 1)
    for name, part in parts.items():
        lines += ["", *_section_lines(_title(name), part, media_type, 2)]
    return _text(lines)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def _text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _title(name: str) -> str:
    return name.capitalize()


def _section_lines(title: str, part: Part, media_type: str, level: int) -> list[str]:
    if media_type == MARKDOWN:
        heading = ["#" * level + " " + title, ""]
    else:
        heading = [title, ("=" if level == 1 else "-") * len(title)]
    if isinstance(part, Custom):
        return [*heading, part.body.rstrip("\n")]
    render = _markdown_lines if media_type == MARKDOWN else _plain_lines
    return [*heading, *render(part, 0)]


def label(key: str) -> str:
    """`nodeId` -> "Node ID", `inputPer1kTokens` -> "Input per 1k tokens"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[a-z])(?=[0-9])", " ", key).lower().split()
    words = [_WORDS.get(word, word) for word in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "" or value == [] or value == {}:
        return "none"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _raw(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else "none"


def _plain_lines(sheet: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in sheet.items():
        name = label(key)
        if key in RAW_KEYS:
            lines.append(f"{pad}{name}: {_raw(value)}")
        elif isinstance(value, Mapping) and value:
            lines += [f"{pad}{name}:", *_plain_lines(value, indent + 2)]
        elif isinstance(value, list) and value:
            lines.append(f"{pad}{name}:")
            for item in value:
                lines += _plain_item(item, indent + 2)
        else:
            lines.append(f"{pad}{name}: {scalar(value)}")
    return lines


def _plain_item(item: Any, indent: int) -> list[str]:
    pad = " " * indent
    if not isinstance(item, Mapping):
        return [f"{pad}- {scalar(item)}"]
    inner = _plain_lines(item, indent + 2)
    return [f"{pad}- {inner[0].lstrip()}", *inner[1:]] if inner else [f"{pad}- none"]


def _markdown_lines(sheet: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in sheet.items():
        name = f"**{label(key)}:**"
        if key in RAW_KEYS:
            raw = _raw(value)
            lines.append(f"{pad}- {name} " + (f"`{raw}`" if value else raw))
        elif isinstance(value, Mapping) and value:
            lines += [f"{pad}- {name}", *_markdown_lines(value, indent + 2)]
        elif isinstance(value, list) and value:
            lines.append(f"{pad}- {name}")
            for item in value:
                lines += _markdown_item(item, indent + 2)
        else:
            lines.append(f"{pad}- {name} {scalar(value)}")
    return lines


def _markdown_item(item: Any, indent: int) -> list[str]:
    pad = " " * indent
    if not isinstance(item, Mapping):
        return [f"{pad}- {scalar(item)}"]
    first, *rest = _markdown_lines(item, indent) or [f"{pad}- none"]
    # The first key names the item; the others nest under it.
    return [first, *_markdown_lines(dict(list(item.items())[1:]), indent + 2)] if rest else [first]
