"""The tokenizer: a token is a word, or a run of punctuation, or a run of whitespace.

Whitespace is attached to the front of the following word (" there"), the way hosted models
stream, so the concatenation of tokens is always exactly the reply text.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s]+)|\s+")


def tokenize(text: str) -> list[str]:
    """Split `text` into tokens whose concatenation is `text`, byte for byte."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return len(tokenize(text))
