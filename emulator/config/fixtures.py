"""Fixture files: versioned, hand-editable YAML under the fixtures directory.

```yaml
version: 1
api: interlocute                 # what it was recorded from (informational)
conversations:
  - id: thr_8f2k...              # the upstream's conversation id (informational)
    turns:
      - message: What are your hours?
        reply:                   # the frames as received: ms since the request, and text
          - {ms: 212, text: We}
          - {ms: 230, text: " are open"}
        sources:                 # optional
          - {id: doc-1, title: Opening hours, url: null, source_type: web, score: 0.9, snippet: ...}
      - message: Thanks
        reply: You are welcome.  # a plain string: one frame per token, no delay
```

Errors are `ConfigError`s with file:line:col, like nodes.yaml's. `FixtureLibrary` reads files on
demand (re-reading a file only when it changed) and writes them atomically.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path, PurePath

import msgspec
import yaml

from emulator.config.checks import Checker
from emulator.config.errors import ConfigError, ConfigIssue
from emulator.config.model import API_NAMES, Config, Location
from emulator.config.yamlnodes import YMap, YScalar, YSeq, YValue, compose
from emulator.core.errors import ModelError
from emulator.core.fixtures import (
    FIXTURE_VERSION,
    Conversation,
    Fixture,
    FixtureTurn,
    Frame,
    RecordedSource,
    to_data,
)
from emulator.core.tokens import tokenize

TOP_KEYS = ("version", "api", "upstream", "conversations")
CONVERSATION_KEYS = ("id", "turns")
TURN_KEYS = ("message", "reply", "sources")
FRAME_KEYS = ("ms", "text")
SOURCE_KEYS = ("id", "title", "url", "source_type", "score", "snippet")
SUFFIXES = (".yaml", ".yml")
# A recorded reply is one `{ms, text}` line per token: a 1 MiB reply is about 9 MiB of fixture.
MAX_FIXTURE_CHARS = 16 * 1024 * 1024


def parse_fixture(text: str, source: str = "<fixture>") -> Fixture:
    """Validate `text` as a fixture file; every problem found is in the ConfigError."""
    root, syntax = compose(text, source, max_chars=MAX_FIXTURE_CHARS)
    c = Checker(source)
    c.issues.extend(syntax)
    fixture = None
    if root is None and not syntax:
        c.error(Location(source, 1, 1), "the fixture file is empty: expected `conversations:`")
    elif root is not None:
        fixture = _fixture(c, root)
    if c.issues or fixture is None:
        raise ConfigError(sorted(c.issues, key=_position))
    return fixture


def _position(issue: ConfigIssue) -> tuple[int, int]:
    loc = issue.location
    return (loc.line, loc.column) if loc else (0, 0)


def dump_fixture(fixture: Fixture, header: str = "") -> str:
    """The fixture as YAML: block style, one `{ms, text}` line per frame, keys in file order."""
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    body = yaml.safe_dump(
        to_data(fixture),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=100,
    )
    return comment + body


def _fixture(c: Checker, root: YValue) -> Fixture | None:
    if not isinstance(root, YMap):
        c.expected("fixture", "a mapping with `conversations:`", root)
        return None
    top = c.mapping(root, "fixture", TOP_KEYS)
    assert top is not None
    version = c.integer(c.get(top, "version"), "version")
    if version is not None and version != FIXTURE_VERSION:
        c.error(
            c.get(top, "version").loc,  # type: ignore[union-attr]
            f"version: this emulator reads fixture version {FIXTURE_VERSION}, got {version}",
        )
    api = c.choice(c.get(top, "api"), "api", API_NAMES)
    upstream = c.string(c.get(top, "upstream"), "upstream")
    items = c.items(c.require(top, "conversations", "the fixture"), "conversations") or ()
    conversations = tuple(filter(None, (_conversation(c, item) for item in items)))
    return Fixture(conversations, api, upstream)


def _conversation(c: Checker, value: YValue) -> Conversation | None:
    m = _mapping(c, value, "conversations", "a mapping with `turns:`", CONVERSATION_KEYS)
    if m is None:
        return None
    ident = c.string(c.get(m, "id"), "id")
    items = c.items(c.require(m, "turns", "a conversation"), "turns") or ()
    if not items and c.get(m, "turns") is not None:
        c.error(m.loc, "a conversation needs at least one turn")
    turns = tuple(filter(None, (_turn(c, item) for item in items)))
    return Conversation(turns, ident)


def _turn(c: Checker, value: YValue) -> FixtureTurn | None:
    m = _mapping(c, value, "turns", "a mapping with `message:` and `reply:`", TURN_KEYS)
    if m is None:
        return None
    message = _text(c, c.require(m, "message", "a turn"), "message")
    frames = _frames(c, c.require(m, "reply", "a turn"))
    sources = tuple(
        filter(None, (_source(c, item) for item in c.items(c.get(m, "sources"), "sources") or ()))
    )
    if message is None or frames is None:
        return None
    return FixtureTurn(message, frames, sources)


def _frames(c: Checker, value: YValue | None) -> tuple[Frame, ...] | None:
    """A string (one frame per token at 0 ms) or a list of `{ms, text}` frames."""
    if value is None:
        return None
    if isinstance(value, YScalar):
        text = _text(c, value, "reply")
        return None if text is None else tuple(Frame(token, 0) for token in tokenize(text))
    if not isinstance(value, YSeq):
        c.expected("reply", "a string or a list of {ms, text} frames", value)
        return None
    frames: list[Frame] = []
    last = 0
    for item in value.items:
        m = _mapping(c, item, "reply", "a list of {ms, text} frames", FRAME_KEYS)
        if m is None:
            continue
        ms_value = c.require(m, "ms", "a frame")
        ms = c.integer(ms_value, "ms", 0)
        text = _text(c, c.require(m, "text", "a frame"), "text")
        if ms is not None and ms < last and ms_value is not None:
            c.error(ms_value.loc, f"ms: frames are in arrival order, but {ms} comes after {last}")
        if ms is not None and text is not None:
            frames.append(Frame(text, ms))
            last = max(last, ms)
    return tuple(frames)


def _text(c: Checker, value: YValue | None, key: str) -> str | None:
    """Words as written: a hand-written `text: Yes` or `message: off` is that word, not a
    YAML 1.1 boolean (numbers are taken as written by `Checker.string` already)."""
    if isinstance(value, YScalar) and isinstance(value.value, bool):
        return value.raw
    return c.string(value, key, empty=True)


def _source(c: Checker, value: YValue) -> RecordedSource | None:
    m = _mapping(c, value, "sources", "a mapping with `id:` and `title:`", SOURCE_KEYS)
    if m is None:
        return None
    ident = c.string(c.require(m, "id", "a source"), "id")
    title = c.string(c.require(m, "title", "a source"), "title", empty=True)
    score = c.number(c.get(m, "score"), "score", 0)
    if ident is None or title is None:
        return None
    return RecordedSource(
        id=ident,
        title=title,
        url=c.string(c.get(m, "url"), "url"),
        source_type=c.string(c.get(m, "source_type"), "source_type") or "document",
        score=1.0 if score is None else score,
        snippet=c.string(c.get(m, "snippet"), "snippet", empty=True) or "",
    )


def _mapping(
    c: Checker, value: YValue, key: str, what: str, allowed: tuple[str, ...]
) -> YMap | None:
    """An item of a list under `key` that must be a mapping with `allowed` keys."""
    if not isinstance(value, YMap):
        c.expected(key, what, value)
        return None
    return c.mapping(value, key.rstrip("s"), allowed)


# -- the directory -------------------------------------------------------------------------


class FixtureNotFound(Exception):
    def __init__(self, name: str, path: Path) -> None:
        super().__init__(f"fixture '{name}' not found: {path} does not exist")
        self.name = name
        self.path = path


class _Cached(msgspec.Struct, frozen=True):
    stamp: tuple[int, int]  # (mtime_ns, size)
    fixture: Fixture


class FixtureLibrary:
    """The fixtures directory. `load` re-reads a file only when its mtime or size changed, so
    an edited fixture is used by the very next request, with no reload step."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._cache: dict[Path, _Cached] = {}
        self._lock = threading.Lock()  # the recorder appends from several requests

    def path(self, name: str) -> Path:
        """`name` may carry its suffix; without one, `.yaml` (or an existing `.yml`)."""
        if PurePath(name).suffix in SUFFIXES:
            return self.directory / name
        for suffix in SUFFIXES:
            candidate = self.directory / f"{name}{suffix}"
            if candidate.exists():
                return candidate
        return self.directory / f"{name}{SUFFIXES[0]}"

    def load(self, name: str) -> Fixture:
        """The fixture; FixtureNotFound or a ConfigError (file:line:col) when unusable.

        A name that resolves (through symlinks) to a file outside the directory is refused.
        """
        path = self.path(name)
        try:
            self._inside(name, path)
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            cached = self._cache.get(path)
            if cached is not None and cached.stamp == stamp:
                return cached.fixture
            data = path.read_bytes()
        except FileNotFoundError:
            raise FixtureNotFound(name, path) from None
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            issue = ConfigIssue(None, f"fixture '{name}' cannot be read: {reason}")
            raise ConfigError([issue]) from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ConfigError([ConfigIssue(None, f"{path}: the file is not UTF-8 text")]) from None
        fixture = parse_fixture(text, str(path))
        self._cache[path] = _Cached(stamp, fixture)
        return fixture

    def _inside(self, name: str, path: Path) -> None:
        """ConfigError unless `path`, symlinks followed, is inside the directory: a fixture
        name never reads a file elsewhere (a symlink to ~/.ssh/id_rsa, say)."""
        real, home = path.resolve(), self.directory.resolve()
        if home not in real.parents:
            message = (
                f"fixture '{name}' is refused: {path} leads to {real}, outside the fixtures "
                f"directory {home}"
            )
            raise ConfigError([ConfigIssue(None, message)])

    def fixture(self, name: str) -> Fixture:
        """`load` for the replay model: a missing or broken file is the model's error, whose
        message says which file and what is wrong."""
        try:
            return self.load(name)
        except FixtureNotFound as exc:
            raise ModelError(str(exc)) from None
        except ConfigError as exc:
            raise ModelError(f"fixture '{name}' cannot be used: {exc}") from None

    def append(
        self,
        name: str,
        conversation_id: str | None,
        turn: FixtureTurn,
        *,
        api: str | None = None,
        upstream: str | None = None,
        header: str = "",
        fresh: bool = False,
    ) -> Path:
        """Add `turn` to a conversation of the fixture (creating either as needed) and rewrite
        the file atomically: a reader never sees half a file. `header` comments a new file; an
        existing file keeps the comment lines at its top (others are not kept). `fresh`
        replaces an existing file with a new one holding only `turn`."""
        with self._lock:
            path = self.path(name)
            try:
                if fresh:
                    raise FixtureNotFound(name, path)
                fixture = self.load(name)
                top = leading_comments(path.read_text(encoding="utf-8-sig"))
            except FixtureNotFound:
                fixture, top = Fixture(api=api, upstream=upstream), None
            grown = fixture.with_turn(conversation_id, turn)
            text = dump_fixture(grown, header) if top is None else top + dump_fixture(grown)
            write_atomically(path, text)
            return path


def leading_comments(text: str) -> str:
    """The comment lines a file starts with, each with its newline."""
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line if line.endswith("\n") else line + "\n")
    return "".join(lines)


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def replay_problems(config: Config, library: FixtureLibrary) -> list[str]:
    """Why each replay node's fixture cannot be replayed now, one line per node (none: all
    can). For `emulator check`, and for `serve` to warn at start."""
    problems = []
    for node in config.nodes.values():
        if node.model.kind != "replay" or node.model.fixture is None:
            continue
        try:
            library.load(node.model.fixture)
        except FixtureNotFound as exc:
            problems.append(f"node '{node.alias}': {exc}")
        except ConfigError as exc:
            problems.append(f"node '{node.alias}': fixture '{node.model.fixture}':\n{exc}")
    return problems
