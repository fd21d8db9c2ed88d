"""Neutral stream events. Each API encodes them into its own frames.

msgspec Structs, frozen: as immutable as frozen dataclasses, and made in a tenth of the time (a
stream makes several per turn)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from emulator.core.engine import Turn
    from emulator.core.sources import Source


class Start(msgspec.Struct, frozen=True):
    turn: Turn


class Sources(msgspec.Struct, frozen=True):
    sources: tuple[Source, ...]


class Token(msgspec.Struct, frozen=True):
    text: str
    index: int


class Done(msgspec.Struct, frozen=True):
    turn: Turn


class Failure(msgspec.Struct, frozen=True):
    """A failure after the stream began: the API's mid-stream error event."""

    code: str
    message: str


Event = Start | Sources | Token | Done | Failure


class Pause(msgspec.Struct, frozen=True):
    """Not an event of the stream: the engine is about to wait `seconds` before the next one.

    What came before it is due now and can go out in one write; without a Pause between them,
    events are due at the same moment (a node with no latency streams all its tokens at once).
    """

    seconds: float


class Run(msgspec.Struct, frozen=True):
    """Not an event of the stream: tokens due at the same moment, standing for one `Token`
    event each (`tokens()`), `first` being the first one's index. The engine hands tokens
    over a run at a time, so a stream without latency costs one step per run, not per token.
    """

    texts: Sequence[str]
    first: int

    def tokens(self) -> Iterator[Token]:
        for offset, text in enumerate(self.texts):
            yield Token(text, self.first + offset)


Paced = Event | Pause | Run
