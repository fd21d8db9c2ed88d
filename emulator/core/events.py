"""Neutral stream events. Each API encodes them into its own frames."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.core.engine import Turn
    from emulator.core.sources import Source


@dataclass(frozen=True, slots=True)
class Start:
    turn: Turn


@dataclass(frozen=True, slots=True)
class Sources:
    sources: tuple[Source, ...]


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    index: int


@dataclass(frozen=True, slots=True)
class Done:
    turn: Turn


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure after the stream began: the API's mid-stream error event."""

    code: str
    message: str


Event = Start | Sources | Token | Done | Failure


@dataclass(frozen=True, slots=True)
class Pause:
    """Not an event of the stream: the engine is about to wait `seconds` before the next one.

    What came before it is due now and can go out in one write; without a Pause between them,
    events are due at the same moment (a node with no latency streams all its tokens at once).
    """

    seconds: float


@dataclass(frozen=True, slots=True)
class Run:
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
