"""The tokenizer: a token is a word, or a run of punctuation, or a run of whitespace.

Whitespace is attached to the front of the following word (" there"), the way hosted models
stream, so the concatenation of tokens is always exactly the reply text.
"""

from __future__ import annotations

import asyncio
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from typing import overload

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s]+)|\s+")
# Where text may be cut without changing its tokens: between a non-space and a space (a token
# never runs from non-space into space; the space starts the next token).
_CUT = re.compile(r"\S(?=\s)")
CHUNK_CHARS = 16 * 1024  # tokenized per event-loop turn by `Tokens.of_async` (a few ms)


def tokenize(text: str) -> list[str]:
    """Split `text` into tokens whose concatenation is `text`, byte for byte."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """`len(tokenize(text))`, without making the tokens.

    ASCII text (nearly every message) is counted in C: `str.translate` writes each character's
    kind (w: word, p: punctuation, s: whitespace, as the tokenizer's regex classes them) and
    `str.count` finds where a run of words or of punctuation begins: each such run is one token,
    with the whitespace before it. Whitespace at the very end is a token of its own. A JSON
    turn counts its message and its reply: this took a tenth of the turn's time as a regex.
    """
    if not text.isascii():
        return len(_TOKEN.findall(text))
    if not text:
        return 0
    kinds = text.translate(_KINDS)
    return (
        (kinds[0] != "s")
        + kinds.count("sw")
        + kinds.count("pw")
        + kinds.count("sp")
        + kinds.count("wp")
        + (kinds[-1] == "s")
    )


def _kind(char: str) -> str:
    if re.fullmatch(r"\w", char):
        return "w"
    return "s" if re.fullmatch(r"\s", char) else "p"


# Classified by the very classes `_TOKEN` uses (\s holds the ASCII separators 0x1c-0x1f too).
_KINDS = str.maketrans({chr(code): _kind(chr(code)) for code in range(128)})


class Tokens(Sequence[str]):
    """A reply's tokens held as its text and where each token ends (4 bytes a token), not as
    one string object each: the echo of a 1 MiB message is 340k tokens, and fifty of them in
    flight as string tuples took most of a gigabyte. A token is sliced out when it is read.

    Made by `of`, the ends are found only when a token is first read: a JSON reply only ever
    asks how many there are (`count_tokens`, several times cheaper)."""

    __slots__ = ("_count", "_ends_or_none", "_text")

    def __init__(self, text: str, ends: array[int] | None) -> None:
        self._text = text
        self._ends_or_none = ends
        self._count = -1 if ends is None else len(ends)

    @classmethod
    def of(cls, text: str) -> Tokens:
        """`text` split by `tokenize` (when it is read)."""
        return cls(text, None)

    @property
    def _ends(self) -> array[int]:
        ends = self._ends_or_none
        if ends is None:
            ends = self._ends_or_none = array("I")
            _extend(ends, self._text, 0, len(self._text))
        return ends

    @classmethod
    async def of_async(cls, text: str) -> Tokens:
        """`of`, a chunk of CHUNK_CHARS at a time, handing the event loop back between chunks:
        a 1 MiB message (340k tokens) never holds the loop for more than a few milliseconds."""
        ends = array("I")
        start = 0
        for stop in [*_cuts(text), len(text)]:
            _extend(ends, text, start, stop)
            start = stop
            await asyncio.sleep(0)
        return cls(text, ends)

    @classmethod
    def join(cls, parts: Iterable[str]) -> Tokens:
        """Given tokens (a replay's recorded frames), kept as they are."""
        parts = list(parts)
        return cls("".join(parts), array("I", accumulate(map(len, parts))))

    def __len__(self) -> int:
        if self._count < 0:
            self._count = count_tokens(self._text)
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("token index out of range")
        start = self._ends[index - 1] if index else 0
        return self._text[start : self._ends[index]]

    def __iter__(self) -> Iterator[str]:
        start = 0
        for end in self._ends:
            yield self._text[start:end]
            start = end

    def text(self, count: int | None = None) -> str:
        """The first `count` tokens (all by default) as one string."""
        if count is None or count >= len(self):
            return self._text
        return self._text[: self._ends[count - 1]] if count > 0 else ""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Tokens):
            return self._text == other._text and self._ends == other._ends
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._text, len(self)))

    def __repr__(self) -> str:
        return f"Tokens({len(self)} tokens, {len(self._text)} characters)"


def _extend(ends: array[int], text: str, start: int, stop: int) -> None:
    """Append the end of each token of `text[start:stop]` (as offsets into `text`)."""
    offsets = accumulate(map(len, _TOKEN.findall(text, start, stop)), initial=start)
    next(offsets)  # `initial` itself: the start, not an end
    ends.extend(offsets)


def _cuts(text: str) -> Iterator[int]:
    """Offsets about CHUNK_CHARS apart where `text` can be cut without changing its tokens."""
    position = CHUNK_CHARS
    while position < len(text):
        found = _CUT.search(text, position)
        if found is None:
            return
        yield found.end()
        position = found.end() + CHUNK_CHARS
